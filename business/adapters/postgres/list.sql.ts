// The listing by status (GET /domains, GET /domains/export): a keyset page in
// name order, `WHERE name > $after ORDER BY name LIMIT $n`. Catch-all and not
// catch-all: a range scan of the partial index on (status, name) WHERE status
// > 0 (domains.status is written by every upsert, domain-status.sql.ts), so a
// page costs the same however rare the status. Unknown (left out of that index
// so that new domains cost one index entry, not two) and all: a walk of the
// primary key (name, "C" collation); unknown is the status of every new
// domain, so that walk is dense unless nearly every domain is classified.
//
// Why a stored status rather than an index on the counts: an index whose key
// or predicate names `delivered` makes every counter update non-HOT (every
// flush row would also write a new entry into every index of the table), and
// a plain walk of the primary key with the rule as a filter took 39 s for one
// page of a status no domain had, at 10M domains. The stored status changes at
// most twice per domain, so updates stay HOT. docs/api.md has the figures.
// The status is the one of the threshold in force when the domain was last
// written.
//
// On Citus the same statement runs on every shard (each scans its own index,
// stopping at `limit` rows) and the coordinator merges the sorted pieces.
import type { QueryArrayConfig } from 'pg';
import type { ListQuery } from '../../ports';
import { statusRank } from '../../models';

const LIST_ALL_SQL = 'SELECT name, delivered, bounced FROM domains WHERE name > $1 ORDER BY name LIMIT $2';
/** Catch-all and not catch-all: the partial index on (status, name) WHERE status > 0. */
const LIST_CLASSIFIED_SQL =
  'SELECT name, delivered, bounced FROM domains WHERE status = $3::smallint AND status > 0 AND name > $1 ORDER BY status, name LIMIT $2';
/** Unknown (not in that index): a walk of the primary key; unknown is the status of every new domain. */
const LIST_UNKNOWN_SQL = 'SELECT name, delivered, bounced FROM domains WHERE name > $1 AND status = 0 ORDER BY name LIMIT $2';

/** A named (prepared once per connection) statement for one page. */
export function listStatement(query: ListQuery): Omit<QueryArrayConfig, 'rowMode'> {
  const values: unknown[] = [query.after ?? '', query.limit];
  if (query.status === undefined) return { name: 'catchall_list_all', text: LIST_ALL_SQL, values };
  if (query.status === 'unknown') return { name: 'catchall_list_unknown', text: LIST_UNKNOWN_SQL, values };
  values.push(statusRank(query.status));
  return { name: 'catchall_list_classified', text: LIST_CLASSIFIED_SQL, values };
}
