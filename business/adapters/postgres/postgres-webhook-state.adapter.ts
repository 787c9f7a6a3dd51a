// The PostgreSQL webhook state (tables: migrations/1795470000008-create-webhook-state.ts).
// Each call is one statement, so it is atomic without an explicit transaction:
// - acquire: an upsert that takes the lease when it is free, expired or
//   already this owner's, timed by the database's clock (nodes' clocks may
//   differ); RETURNING gives the cursor only when the lease is ours;
// - advance: moves the cursor (never back) where the lease is still ours;
// - park: the same cursor move, and the failure row inserted from its result
//   (a data-modifying CTE), so both happen or neither.
import type { Pool } from 'pg';
import { WebhookFailure, WebhookState, WebhookStateInfo } from '../../ports';

const ACQUIRE_SQL = `INSERT INTO webhook_cursors AS w (endpoint, cursor, lease_owner, lease_until)
VALUES ($1, 0, $2, now() + make_interval(secs => $3))
ON CONFLICT (endpoint) DO UPDATE SET lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until
WHERE w.lease_owner IS NULL OR w.lease_owner = EXCLUDED.lease_owner OR w.lease_until < now()
RETURNING w.cursor`;

const ADVANCE_SQL = `UPDATE webhook_cursors
SET cursor = GREATEST(cursor, $3::bigint), lease_until = now() + make_interval(secs => $4)
WHERE endpoint = $1 AND lease_owner = $2
RETURNING 1`;

const PARK_SQL = `WITH moved AS (
  UPDATE webhook_cursors
  SET cursor = GREATEST(cursor, $3::bigint), lease_until = now() + make_interval(secs => $4)
  WHERE endpoint = $1 AND lease_owner = $2
  RETURNING endpoint
)
INSERT INTO webhook_failures (endpoint, change_id, attempts, last_error, at)
SELECT endpoint, $3::bigint, $5, $6, $7 FROM moved
ON CONFLICT (endpoint, change_id) DO UPDATE SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error, at = EXCLUDED.at
RETURNING 1`;

const RELEASE_SQL = `UPDATE webhook_cursors SET lease_owner = NULL, lease_until = now()
WHERE endpoint = $1 AND lease_owner = $2`;

const FAILURES_SQL = `SELECT endpoint, change_id, attempts, last_error, at
FROM webhook_failures ORDER BY at DESC, change_id DESC LIMIT $1`;

const PRUNE_SQL = `DELETE FROM webhook_failures WHERE (endpoint, change_id) IN (
  SELECT endpoint, change_id FROM webhook_failures WHERE at < $1 ORDER BY at LIMIT $2
)`;

const COUNTS_SQL = 'SELECT endpoint, count(*) AS n FROM webhook_failures GROUP BY endpoint';

/** Parked errors are cut to this many characters (they come from remote servers). */
const MAX_ERROR_CHARS = 500;

export class PostgresWebhookState extends WebhookState {
  readonly kind = 'postgres';

  constructor(private readonly pool: Pool) {
    super();
  }

  async acquire(endpoint: string, owner: string, ttlMs: number): Promise<number | undefined> {
    const result = await this.pool.query<{ cursor: string }>(ACQUIRE_SQL, [endpoint, owner, ttlMs / 1000]);
    const row = result.rows[0];
    return row === undefined ? undefined : Number(row.cursor);
  }

  async advance(endpoint: string, owner: string, cursor: number, ttlMs: number): Promise<boolean> {
    const result = await this.pool.query(ADVANCE_SQL, [endpoint, owner, String(cursor), ttlMs / 1000]);
    return (result.rowCount ?? 0) > 0;
  }

  async park(failure: WebhookFailure, owner: string, ttlMs: number): Promise<boolean> {
    const result = await this.pool.query(PARK_SQL, [
      failure.endpoint,
      owner,
      String(failure.changeId),
      ttlMs / 1000,
      failure.attempts,
      failure.lastError.slice(0, MAX_ERROR_CHARS),
      failure.at,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async release(endpoint: string, owner: string): Promise<void> {
    await this.pool.query(RELEASE_SQL, [endpoint, owner]);
  }

  async failures(limit: number): Promise<WebhookFailure[]> {
    const result = await this.pool.query<{ endpoint: string; change_id: string; attempts: number; last_error: string; at: Date }>(
      FAILURES_SQL,
      [limit],
    );
    return result.rows.map((r) => ({
      endpoint: r.endpoint,
      changeId: Number(r.change_id),
      attempts: r.attempts,
      lastError: r.last_error,
      at: r.at,
    }));
  }

  async pruneFailures(before: Date, batch: number): Promise<number> {
    const result = await this.pool.query(PRUNE_SQL, [before, batch]);
    return result.rowCount ?? 0;
  }

  async parkedCounts(): Promise<Map<string, number>> {
    const result = await this.pool.query<{ endpoint: string; n: string }>(COUNTS_SQL);
    return new Map(result.rows.map((r) => [r.endpoint, Number(r.n)]));
  }

  info(): WebhookStateInfo {
    return { durable: true, detail: { kind: 'postgres' } };
  }
}
