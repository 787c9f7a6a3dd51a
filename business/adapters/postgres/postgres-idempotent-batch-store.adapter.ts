// The PostgreSQL idempotent-batch store. One keyed batch is one explicit
// transaction on one connection:
//   1. DELETE the key if it has expired (an expired key counts as absent);
//   2. INSERT the key with its fingerprint and answer, ON CONFLICT DO NOTHING;
//   3. only if that inserted a row: the batch's upsert (the same sorted
//      unnest upsert as a flush, so it locks domain rows in the same order as
//      every flush and never deadlocks with one), returning the new totals;
//      otherwise SELECT the recorded fingerprint and answer;
//   4. with transition recording, the batch's status transitions
//      and stats (recorded-flush.ts, recordFlush: after the domain rows,
//      like a flush), then COMMIT.
// The key and the counts commit together or not at all. A second transaction
// with the same key (another node, or a retry) blocks in step 2 on the first
// one's uncommitted row until it ends, then sees the committed key (replay)
// or, if it rolled back, inserts the key itself: waiting is the concurrency
// rule, there is no 409 from the database.
//
// Unlike a flush, a keyed batch needs no flush fence: when the connection dies
// around the COMMIT, the caller answers 503 and the client retries with the
// same key; the retry finds the key (the batch was stored: replay) or not (it
// was not: applied now). The key is the fence.
import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import { DEFAULT_CATCHALL_THRESHOLD } from '../../models';
import { IdempotentBatchStore, KeyedBatch, KeyedOutcome } from '../../ports';
import { poolOf } from './data-source';
import { PostgresCounterStore, toDomainCounts, toUpsertParams } from './postgres-counter-store.adapter';
import { domainsUpsertSql, upsertStatementName } from './domain-status.sql';
import { RecordedRow, recordFlush } from './recorded-flush';

const DELETE_EXPIRED_SQL = 'DELETE FROM idempotency_keys WHERE key = $1 AND expires_at <= now()';

const INSERT_KEY_SQL = `INSERT INTO idempotency_keys (key, fingerprint, status, response, expires_at)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
ON CONFLICT (key) DO NOTHING
RETURNING 1`;

const SELECT_KEY_SQL = 'SELECT fingerprint, status, response FROM idempotency_keys WHERE key = $1';

/** The flush upsert without its fence (see the header), always returning the totals (for the cache). */
const keyedUpsertSql = (threshold: number) => `${domainsUpsertSql('', threshold)}
RETURNING name, delivered, bounced, (xmax = 0) AS created`;

/** Bounded batches, so pruning never holds many row locks or one long transaction. */
const PRUNE_SQL = `DELETE FROM idempotency_keys
WHERE key IN (SELECT key FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)`;

export class PostgresIdempotentBatchStore extends IdempotentBatchStore {
  private readonly pool: Pool;

  /**
   * @param dataSource the counter store's initialised DataSource (one pool per process)
   * @param counters the counter store, when it records transitions and stats: a keyed batch then does as a flush does
   */
  constructor(
    dataSource: DataSource,
    private readonly counters?: PostgresCounterStore,
  ) {
    super();
    this.pool = poolOf(dataSource);
    this.threshold = counters?.threshold ?? DEFAULT_CATCHALL_THRESHOLD;
    this.upsert = keyedUpsertSql(this.threshold);
  }

  private readonly threshold: number;
  /** The keyed upsert, built with the threshold domains.status is written with. */
  private readonly upsert: string;

  async applyOnce(batch: KeyedBatch): Promise<KeyedOutcome> {
    const params = toUpsertParams(batch.deltas); // throws on a bad count, before anything is sent
    const counters = this.counters;
    if (counters?.transitions) return counters.withLane((slot) => this.applyOn(batch, params, slot));
    return this.applyOn(batch, params);
  }

  async prune(limit: number): Promise<number> {
    const result = await this.pool.query(PRUNE_SQL, [limit]);
    return result.rowCount ?? 0;
  }

  /** @param slot the lane (flush_fences row) whose stats to add to (only when recording) */
  private async applyOn(batch: KeyedBatch, params: [string, string, string], slot?: string): Promise<KeyedOutcome> {
    const client = await this.pool.connect();
    // A checked-out client whose connection dies also emits 'error'; the query's rejection reports it.
    const swallow = () => undefined;
    client.on('error', swallow);
    let healthy = false;
    try {
      const outcome = await this.transaction(client, batch, params, slot);
      healthy = true;
      return outcome;
    } finally {
      client.off('error', swallow);
      // A connection that failed mid-transaction is not given back to the pool.
      client.release(!healthy);
    }
  }

  private async transaction(
    client: PoolClient,
    batch: KeyedBatch,
    params: [string, string, string],
    slot?: string,
  ): Promise<KeyedOutcome> {
    await client.query('BEGIN');
    try {
      await client.query({ name: 'catchall_idem_expire', text: DELETE_EXPIRED_SQL, values: [batch.key] });
      const inserted = await client.query({
        name: 'catchall_idem_insert',
        text: INSERT_KEY_SQL,
        values: [batch.key, batch.fingerprint, batch.answer.status, batch.answer.body, batch.ttlSeconds],
      });
      let outcome: KeyedOutcome;
      let recorded = 0;
      if (inserted.rowCount === 1) {
        const rows = await client.query<RecordedRow>({
          name: upsertStatementName('catchall_idem_upsert', this.threshold),
          text: this.upsert,
          values: params,
          rowMode: 'array',
        });
        const totals = rows.rows.map((r) => toDomainCounts([r[0], r[1], r[2]]));
        outcome = { kind: 'applied', totals };
        const recording = this.counters?.transitions;
        if (recording && slot !== undefined) {
          const created = rows.rows.map((r) => r[3]);
          recorded = await recordFlush(client, slot, totals, created, batch.deltas, recording.threshold, true);
        }
      } else {
        const found = await client.query<{ fingerprint: string; status: number; response: string }>({
          name: 'catchall_idem_select',
          text: SELECT_KEY_SQL,
          values: [batch.key],
        });
        const row = found.rows[0];
        if (!row) throw new Error(`idempotency key vanished while it was read (pruned?); retry`);
        outcome = { kind: 'replayed', fingerprint: row.fingerprint, answer: { status: row.status, body: row.response } };
      }
      await client.query('COMMIT');
      // In the feed before the answer (never rejects).
      if (recorded > 0) await this.counters?.transitions?.recorded?.();
      return outcome;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}
