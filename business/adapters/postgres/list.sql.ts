// The listing by status (GET /domains, GET /domains/export): a keyset page in
// name order, `WHERE name > $after ORDER BY name LIMIT $n`, walked along the
// primary key (name, "C" collation), with the status rule as a filter.
//
// No index on the counts on purpose: any index whose key or predicate names
// `delivered` (a partial index `WHERE delivered > 1000`, say) makes every
// counter update non-HOT, i.e. every flush row also writes a new entry into
// every index of the table; the flush is the hottest path of the service.
// docs/api.md ("Listing: the index") has the measurements behind this choice.
//
// On Citus the same statement runs on every shard (each walks its own primary
// key, stopping at `limit` matches) and the coordinator merges the sorted
// pieces: ORDER BY the distribution column with a LIMIT is pushed down.
import type { QueryArrayConfig } from 'pg';
import type { DomainStatus } from '../../models';
import type { ListQuery } from '../../ports';

/** The catch-all rule (business/models/domain-status.ts) as SQL over $3, the threshold. */
const STATUS_FILTERS: Record<DomainStatus, string> = {
  'not catch-all': 'bounced >= 1',
  'catch-all': 'bounced = 0 AND delivered > $3::bigint',
  unknown: 'bounced = 0 AND delivered <= $3::bigint',
};

const STATEMENT_NAMES: Record<DomainStatus | 'all', string> = {
  'not catch-all': 'catchall_list_not_catchall',
  'catch-all': 'catchall_list_catchall',
  unknown: 'catchall_list_unknown',
  all: 'catchall_list_all',
};

function listSql(status: DomainStatus | undefined): string {
  const filter = status === undefined ? '' : ` AND ${STATUS_FILTERS[status]}`;
  return `SELECT name, delivered, bounced FROM domains WHERE name > $1${filter} ORDER BY name LIMIT $2`;
}

/** A named (prepared once per connection) statement for one page. */
export function listStatement(query: ListQuery): Omit<QueryArrayConfig, 'rowMode'> {
  const values: unknown[] = [query.after ?? '', query.limit];
  if (query.status !== undefined && query.status !== 'not catch-all') values.push(query.threshold);
  return { name: STATEMENT_NAMES[query.status ?? 'all'], text: listSql(query.status), values };
}
