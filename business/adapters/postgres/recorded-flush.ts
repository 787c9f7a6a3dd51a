// What a flush records besides the counts, in the same transaction (so a crash
// can neither lose nor duplicate any of it, and the flush fence of the postgres
// adapter covers it all):
// - its event sums and status counts, added to its lane's row in flush_fences
//   (the row its fence advances: no other writer shares it, so no flush waits
//   for another); GET /stats sums those rows (postgres-store-stats.adapter.ts);
// - its status transitions, written to status_changes_outbox, where the
//   sequencer (change-sequencer.ts) gives them their feed positions later.
//
// The flush is an explicit transaction: BEGIN; the fence advance (adding the
// event sums, known before anything is sent) and the upsert, in one statement
// returning the new totals and which rows it created (xmax = 0); then, only
// when some domain was created or changed status, the outbox insert and the
// status counts; COMMIT. Detection happens here, in TypeScript
// (business/models/transition.ts, store-stats.ts): the old status is that of
// (new totals − delta), no extra read. The usual flush (known domains, no
// transition) sends nothing more than the plain upsert's statement; on Citus
// that matters, as each further statement (or CTE step) is another round of
// the coordinator through the workers, holding the domains' row locks.
//
// Two nodes flushing the same domain are serialised by the domain's row lock,
// and each sees its own old → new, so a transition is recorded once. `at` is
// clock_timestamp() taken after the domain's row lock, so a domain's later
// transition always carries a later time (the sequencer orders by it).
import type { PoolClient } from 'pg';
import { domainsUpsertSql } from './domain-status.sql';
import { Counts, DomainCounts, StatusTransition, countFlushedDomain, detectTransitions, emptyStats } from '../../models';

/**
 * The fence advance, adding the flush's event sums to the lane's row, then the
 * upsert, answering [name, delivered, bounced, created] per row. Parameters:
 * $1–$3 the sorted arrays, $4 lane, $5 sequence number, $6 delivered sum, $7 bounced sum.
 */
export function recordingUpsertSql(threshold: number): string {
  return `WITH fence AS (
  UPDATE flush_fences SET seq = $5::bigint, fenced = false, updated_at = now(),
    delivered = flush_fences.delivered + $6::bigint, bounced = flush_fences.bounced + $7::bigint
  WHERE node = $4 AND seq = $5::bigint - 1
  RETURNING 1
)
${domainsUpsertSql('fence, ', threshold)}
RETURNING name, delivered, bounced, (xmax = 0) AS created`;
}

/** A row of recordingUpsertSql (rowMode 'array', bigints as text). */
export type RecordedRow = [string, string, string, boolean];

/** The flush's delivered and bounced sums ($6, $7 of recordingUpsertSql). */
export function eventSums(deltas: ReadonlyMap<string, Counts>): [number, number] {
  let delivered = 0;
  let bounced = 0;
  for (const c of deltas.values()) {
    delivered += c.delivered;
    bounced += c.bounced;
  }
  return [delivered, bounced];
}

/**
 * Records what the upsert's rows show (the new totals, and whether each row
 * was created), inside the caller's open transaction,
 * after the upsert took the domains' row locks: the transitions into the
 * outbox, and the status counts into the lane's flush_fences row (the event
 * sums too unless `withEvents` is false, when the fence statement added them).
 * Sends nothing when no domain was created or changed status (and the event
 * sums are already in). Returns how many transitions it recorded.
 */
export async function recordFlush(
  client: PoolClient,
  lane: string,
  totals: readonly DomainCounts[],
  created: readonly boolean[],
  deltas: ReadonlyMap<string, Counts>,
  threshold: number,
  withEvents: boolean,
): Promise<number> {
  const stats = emptyStats();
  for (let i = 0; i < totals.length; i++) {
    const delta = deltas.get(totals[i].name);
    if (delta) countFlushedDomain(stats, totals[i], delta, created[i], threshold);
  }
  const { unknown, 'catch-all': catchAll, 'not catch-all': notCatchAll } = stats.domains;
  if (unknown !== 0 || catchAll !== 0 || notCatchAll !== 0 || withEvents) {
    const events = withEvents ? stats.events : { delivered: 0, bounced: 0 };
    await client.query({
      name: 'catchall_add_stats',
      text: ADD_STATS_SQL,
      values: [lane, unknown, catchAll, notCatchAll, events.delivered, events.bounced],
    });
  }
  const changed = detectTransitions(totals, deltas, threshold);
  if (changed.length > 0) await appendToOutbox(client, changed);
  return changed.length;
}

const ADD_STATS_SQL = `UPDATE flush_fences SET
  unknown = unknown + $2, catch_all = catch_all + $3, not_catch_all = not_catch_all + $4,
  delivered = delivered + $5, bounced = bounced + $6
WHERE node = $1`;

async function appendToOutbox(client: PoolClient, changed: readonly StatusTransition[]): Promise<void> {
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
}

const APPEND_SQL = `INSERT INTO status_changes_outbox (domain, delivered, bounced, from_status, to_status, at)
SELECT t.domain, t.delivered, t.bounced, t.from_status, t.to_status, clock_timestamp()
FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[]) AS t(domain, delivered, bounced, from_status, to_status)`;
