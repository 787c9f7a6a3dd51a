// The flush upsert that also records status transitions, in one statement (so
// in one transaction with the counts: a crash can neither lose nor duplicate a
// transition, and the fence of the postgres adapter covers both).
//
// Detection is in SQL and costs nearly nothing when nothing changes (the usual
// flush): the upsert returns the new totals, a join with the delta arrays gives
// each domain's status before (totals − delta) and after, and only the changed
// rows go on, into status_changes_outbox. A domain still unknown after the
// flush cannot have changed, so only the others are joined. Two nodes flushing
// the same domain are serialised by the domain's row lock, and each sees its
// own old → new, so a transition is recorded once.
//
// The flush takes no feed position: that would need one lock shared by every
// flush with a transition, held until commit (on Citus, through a two-phase
// commit), and it made flushes queue behind each other. change-sequencer.ts
// hands out positions afterwards. `at` is clock_timestamp() taken after the
// domain's row lock, so a domain's later transition always carries a later
// time (the sequencer orders by it).
//
// The DO UPDATE sets updated_at from EXCLUDED (Citus refuses now() there), as
// the plain upsert of postgres-counter-store.adapter.ts does.
// The classification mirrors business/models/domain-status.ts (ranks 0, 1, 2).
import type { PoolClient } from 'pg';
import { Counts, DomainCounts, countFlushedDomain, detectTransitions, emptyStats } from '../../models';

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
  RETURNING name, delivered, bounced, (xmax = 0) AS created
),
changed AS MATERIALIZED (
  SELECT * FROM (
    SELECT up.name, up.delivered, up.bounced, up.created,
      ${RANK('up.delivered - d.delivered', 'up.bounced - d.bounced')} AS rank_from,
      ${RANK('up.delivered', 'up.bounced')} AS rank_to
    FROM up JOIN unnest($1::text[], $2::bigint[], $3::bigint[]) AS d(name, delivered, bounced) ON d.name = up.name
    WHERE up.bounced >= 1 OR up.delivered > $6::bigint
  ) r
  WHERE rank_from <> rank_to
),
ins AS (
  INSERT INTO status_changes_outbox (domain, delivered, bounced, from_status, to_status, at)
  SELECT ch.name, ch.delivered, ch.bounced,
    ${STATUS_BY_RANK}[ch.rank_from + 1], ${STATUS_BY_RANK}[ch.rank_to + 1], clock_timestamp()
  FROM changed ch
  RETURNING 1
),
st AS (
  UPDATE domain_stats SET
    unknown = domain_stats.unknown + x.unknown,
    catch_all = domain_stats.catch_all + x.catch_all,
    not_catch_all = domain_stats.not_catch_all + x.not_catch_all,
    delivered = domain_stats.delivered + $7::bigint,
    bounced = domain_stats.bounced + $8::bigint
  FROM (
    SELECT
      (SELECT count(*) FROM up WHERE up.created AND up.bounced = 0 AND up.delivered <= $6::bigint)
        - (SELECT count(*) FROM changed WHERE NOT created AND rank_from = 0) AS unknown,
      (SELECT count(*) FROM changed WHERE rank_to = 1)
        - (SELECT count(*) FROM changed WHERE NOT created AND rank_from = 1) AS catch_all,
      (SELECT count(*) FROM changed WHERE rank_to = 2) AS not_catch_all
  ) x
  WHERE domain_stats.slot = $4 AND EXISTS (SELECT 1 FROM fence)
  RETURNING 1
)`;

/** The recording upsert's two last parameters: the flush's delivered and bounced sums (for domain_stats). */
export function eventSums(deltas: ReadonlyMap<string, Counts>): [number, number] {
  let delivered = 0;
  let bounced = 0;
  for (const c of deltas.values()) {
    delivered += c.delivered;
    bounced += c.bounced;
  }
  return [delivered, bounced];
}

/** Answers one row: [rows upserted, transitions recorded]. */
export const RECORDING_UPSERT_SQL = `${CTES}
SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM ins)`;

/** Answers the new totals, each row with the number of transitions recorded in a fourth column. */
export const RECORDING_UPSERT_WITH_TOTALS_SQL = `${CTES}
SELECT up.name, up.delivered, up.bounced, (SELECT count(*) FROM ins) FROM up`;

/** What a recording upsert answered. */
export interface RecordedFlush {
  written: number;
  /** Transitions this flush wrote to the outbox. */
  recorded: number;
  totals: DomainCounts[];
}

/** Reads a recording upsert's answer (rowMode 'array', bigints as text). */
export function readRecordedFlush(rows: unknown[][], withTotals: boolean): RecordedFlush {
  if (!withTotals) {
    const [written, recorded] = (rows[0] ?? ['0', '0']) as [string, string];
    return { written: Number(written), recorded: Number(recorded), totals: [] };
  }
  return {
    written: rows.length,
    recorded: rows.length > 0 ? Number(rows[0][3]) : 0,
    totals: rows.map((r) => ({ name: r[0] as string, delivered: Number(r[1]), bounced: Number(r[2]) })),
  };
}

/**
 * Writes a batch's transitions to the outbox inside the caller's open
 * transaction, after its upsert took the domains' row locks (so `at` is taken
 * under them, as in a flush). For paths whose upsert is a statement of an
 * explicit transaction (the idempotent keyed batch). Returns how many.
 */
export async function recordTransitions(
  client: PoolClient,
  totals: readonly DomainCounts[],
  deltas: ReadonlyMap<string, Counts>,
  threshold: number,
): Promise<number> {
  const changed = detectTransitions(totals, deltas, threshold);
  if (changed.length === 0) return 0;
  await client.query({
    name: 'catchall_append_transitions',
    text: APPEND_SQL,
    values: [
      changed.map((t) => t.domain),
      changed.map((t) => t.delivered),
      changed.map((t) => t.bounced),
      changed.map((t) => t.from),
      changed.map((t) => t.to),
    ],
  });
  return changed.length;
}

const APPEND_SQL = `INSERT INTO status_changes_outbox (domain, delivered, bounced, from_status, to_status, at)
SELECT t.domain, t.delivered, t.bounced, t.from_status, t.to_status, clock_timestamp()
FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[]) AS t(domain, delivered, bounced, from_status, to_status)`;

/**
 * Adds a batch's stats to a domain_stats slot inside the caller's open
 * transaction (the keyed batch; a flush does the same in its statement).
 * @param created names of the domains the batch inserted
 */
export async function addToStatsSlot(
  client: PoolClient,
  slot: string,
  totals: readonly DomainCounts[],
  deltas: ReadonlyMap<string, Counts>,
  created: ReadonlySet<string>,
  threshold: number,
): Promise<void> {
  const add = emptyStats();
  for (const row of totals) {
    const delta = deltas.get(row.name);
    if (delta) countFlushedDomain(add, row, delta, created.has(row.name), threshold);
  }
  await client.query({
    name: 'catchall_add_stats',
    text: ADD_STATS_SQL,
    values: [slot, add.domains.unknown, add.domains['catch-all'], add.domains['not catch-all'], add.events.delivered, add.events.bounced],
  });
}

const ADD_STATS_SQL = `UPDATE domain_stats SET
  unknown = unknown + $2, catch_all = catch_all + $3, not_catch_all = not_catch_all + $4,
  delivered = delivered + $5, bounced = bounced + $6
WHERE slot = $1`;
