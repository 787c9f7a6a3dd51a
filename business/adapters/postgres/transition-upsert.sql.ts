// The flush upsert that also records status transitions, in one statement (so
// in one transaction with the counts: a crash can neither lose nor duplicate a
// transition, and the fence of the postgres adapter covers both).
//
// Detection is in SQL and costs nearly nothing when nothing changes (the usual
// flush): the upsert returns the new totals, a join with the delta arrays gives
// each domain's status before (totals − delta) and after, and only the changed
// rows go on. A domain still unknown after the flush cannot have changed, so
// only the others are joined. Only when there are some does the statement touch
// change_feed_head: it takes `n` ids under that row's lock, which is held until
// commit, so ids become visible in commit order (a reader of `id > cursor`
// never sees a lower id appear later). Two nodes flushing the same domain are
// serialised by the domain's row lock, and each sees its own old → new, so a
// transition is recorded once. The head is locked only after every domain row
// (count(*) reads the whole upsert first), and domain rows are locked in name
// order, so concurrent flushes cannot deadlock on it. pg_notify is delivered at
// commit, waking other nodes' long-polls.
//
// The DO UPDATE sets updated_at from EXCLUDED (Citus refuses now() there), as
// the plain upsert of postgres-counter-store.adapter.ts does.
// The classification mirrors business/models/domain-status.ts (ranks 0, 1, 2).
import type { PoolClient } from 'pg';
import { Counts, DomainCounts, detectTransitions } from '../../models';

export const CHANGES_CHANNEL = 'catchall_changes';

const RANK = (delivered: string, bounced: string) =>
  `CASE WHEN ${bounced} >= 1 THEN 2 WHEN ${delivered} > $6::bigint THEN 1 ELSE 0 END`;

const STATUS_BY_RANK = `(ARRAY['unknown', 'catch-all', 'not catch-all'])`;

const CTES = `WITH fence AS (
  UPDATE flush_fences SET seq = $5::bigint, fenced = false, updated_at = now()
  WHERE node = $4 AND seq = $5::bigint - 1
  RETURNING 1
),
up AS (
  INSERT INTO domains (name, delivered, bounced)
  SELECT d.name, d.delivered, d.bounced
  FROM fence, unnest($1::text[], $2::bigint[], $3::bigint[]) AS d(name, delivered, bounced)
  ON CONFLICT (name) DO UPDATE
  SET delivered = domains.delivered + EXCLUDED.delivered,
      bounced = domains.bounced + EXCLUDED.bounced,
      updated_at = EXCLUDED.updated_at
  RETURNING name, delivered, bounced
),
changed AS MATERIALIZED (
  SELECT * FROM (
    SELECT up.name, up.delivered, up.bounced,
      ${RANK('up.delivered - d.delivered', 'up.bounced - d.bounced')} AS rank_from,
      ${RANK('up.delivered', 'up.bounced')} AS rank_to
    FROM up JOIN unnest($1::text[], $2::bigint[], $3::bigint[]) AS d(name, delivered, bounced) ON d.name = up.name
    WHERE up.bounced >= 1 OR up.delivered > $6::bigint
  ) r
  WHERE rank_from <> rank_to
),
head AS (
  UPDATE change_feed_head SET last_id = last_id + c.n
  FROM (SELECT count(*) AS n FROM changed) c
  WHERE change_feed_head.k = 1 AND c.n > 0
  RETURNING last_id - c.n AS first_id
),
ins AS (
  INSERT INTO status_changes (id, domain, from_status, to_status, delivered, bounced)
  SELECT head.first_id + row_number() OVER (ORDER BY ch.name), ch.name,
    ${STATUS_BY_RANK}[ch.rank_from + 1], ${STATUS_BY_RANK}[ch.rank_to + 1], ch.delivered, ch.bounced
  FROM changed ch, head
  RETURNING id
),
notified AS (
  -- ::text: Citus materialises CTEs, and a void column cannot be materialised.
  SELECT max(id) AS last_id, pg_notify('${CHANGES_CHANNEL}', max(id)::text)::text AS sent FROM ins HAVING count(*) > 0
)`;

/** Answers one row: [rows upserted, last change id or null]. */
export const RECORDING_UPSERT_SQL = `${CTES}
SELECT (SELECT count(*) FROM up), (SELECT last_id FROM notified)`;

/** Answers the new totals, each row with the last change id (or null) in a fourth column. */
export const RECORDING_UPSERT_WITH_TOTALS_SQL = `${CTES}
SELECT up.name, up.delivered, up.bounced, (SELECT last_id FROM notified) FROM up`;

/** What a recording upsert answered. */
export interface RecordedFlush {
  written: number;
  /** Id of the last change this flush recorded; undefined when it recorded none. */
  lastChangeId?: number;
  totals: DomainCounts[];
}

/** Reads a recording upsert's answer (rowMode 'array', bigints as text). */
export function readRecordedFlush(rows: unknown[][], withTotals: boolean): RecordedFlush {
  if (!withTotals) {
    const [written, last] = (rows[0] ?? ['0', null]) as [string, string | null];
    return { written: Number(written), lastChangeId: last === null ? undefined : Number(last), totals: [] };
  }
  const last = rows.length > 0 ? (rows[0][3] as string | null) : null;
  return {
    written: rows.length,
    lastChangeId: last === null ? undefined : Number(last),
    totals: rows.map((r) => ({ name: r[0] as string, delivered: Number(r[1]), bounced: Number(r[2]) })),
  };
}

/**
 * Appends transitions inside the caller's open transaction, after its upsert
 * locked the domains' rows (the same order as a flush: domains, then the head),
 * and notifies at commit. For paths whose upsert is a statement of an explicit
 * transaction (the idempotent keyed batch). Returns the last id, or undefined
 * when nothing changed (the head is then not touched).
 */
export async function recordTransitions(
  client: PoolClient,
  totals: readonly DomainCounts[],
  deltas: ReadonlyMap<string, Counts>,
  threshold: number,
): Promise<number | undefined> {
  const changed = detectTransitions(totals, deltas, threshold).sort((a, b) => (a.domain < b.domain ? -1 : 1));
  if (changed.length === 0) return undefined;
  const result = await client.query<[string | null, string | null]>({
    name: 'catchall_append_transitions',
    text: APPEND_SQL,
    values: [
      changed.map((t) => t.domain),
      changed.map((t) => t.from),
      changed.map((t) => t.to),
      changed.map((t) => t.delivered),
      changed.map((t) => t.bounced),
      changed.length,
    ],
    rowMode: 'array',
  });
  const last = result.rows[0]?.[0];
  return last === null || last === undefined ? undefined : Number(last);
}

const APPEND_SQL = `WITH head AS (
  UPDATE change_feed_head SET last_id = last_id + $6::bigint WHERE k = 1 RETURNING last_id - $6::bigint AS first_id
),
ins AS (
  INSERT INTO status_changes (id, domain, from_status, to_status, delivered, bounced)
  SELECT head.first_id + t.ord, t.domain, t.from_status, t.to_status, t.delivered, t.bounced
  FROM head, unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
    WITH ORDINALITY AS t(domain, from_status, to_status, delivered, bounced, ord)
  RETURNING id
)
SELECT max(id), pg_notify('${CHANGES_CHANNEL}', max(id)::text)::text FROM ins`;
