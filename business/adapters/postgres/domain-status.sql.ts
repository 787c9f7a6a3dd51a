// domains.status, kept by every upsert so that a listing of catch-all or not
// catch-all domains is a range scan of the partial index on (status, name)
// (migrations/1795470000009-add-domain-status.ts). The value is statusRank of
// business/models/domain-status.ts (0 unknown, 1 catch-all, 2 not catch-all),
// computed in SQL. An update that leaves the status as it was changes no
// indexed column, so it stays a HOT update (a domain's status changes at most
// twice); the threshold is the one in force at the flush. It is written into
// the statement as a literal, not passed as a parameter: Citus cannot type a
// parameter inside ON CONFLICT DO UPDATE SET when it sends the upsert to the
// shards. Statement names carry it (see upsertStatementName).

/** SQL for the rank of the given counts under `threshold` (SQL expressions). */
function statusRankSql(delivered: string, bounced: string, threshold: string): string {
  return `CASE WHEN ${bounced} >= 1 THEN 2 WHEN ${delivered} > ${threshold} THEN 1 ELSE 0 END`;
}

/**
 * The INSERT … ON CONFLICT of every write path, from an `unnest` of the sorted
 * arrays aliased d(name, delivered, bounced); `from` is what precedes it
 * (e.g. "fence, ").
 */
export function domainsUpsertSql(from: string, threshold: number): string {
  if (!Number.isSafeInteger(threshold) || threshold < 0) throw new RangeError(`bad threshold ${threshold}`);
  const t = `${threshold}::bigint`;
  return `INSERT INTO domains (name, delivered, bounced, status)
SELECT d.name, d.delivered, d.bounced, ${statusRankSql('d.delivered', 'd.bounced', t)}
FROM ${from}unnest($1::text[], $2::bigint[], $3::bigint[]) AS d(name, delivered, bounced)
ON CONFLICT (name) DO UPDATE
SET delivered = domains.delivered + EXCLUDED.delivered,
    bounced = domains.bounced + EXCLUDED.bounced,
    status = ${statusRankSql('domains.delivered + EXCLUDED.delivered', 'domains.bounced + EXCLUDED.bounced', t)},
    updated_at = EXCLUDED.updated_at`;
}

/** A prepared statement's name for an upsert built with this threshold (names are per connection, shared by stores). */
export function upsertStatementName(base: string, threshold: number): string {
  return `${base}_t${threshold}`;
}
