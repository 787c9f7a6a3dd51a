// The PostgreSQL counter store. A flush is an upsert of every delta from three
// arrays (unnest) that adds to the existing counts and, when the caller wants
// them (the cache does, the ingest service does not), returns the new totals.
// Without recording it is one statement, its own transaction; with recording
// (transitions and stats, as the service runs it) it is one explicit
// transaction whose first statement is that upsert (recorded-flush.ts). Either
// way a flush is stored all or nothing. Rows are sent sorted by name, so two nodes that flush overlapping
// domains lock them in the same order and never deadlock.
//
// Exactly once: when the connection dies around the commit (the server was
// stopped, the network dropped), the flush may or may not be stored, and the
// ingest service would retry it. So each store writes through "lanes", each a
// row in flush_fences with the sequence number of its last flush, advanced by
// the same statement (the upsert only writes when the row holds the previous
// number). After an unclear failure the store asks the database, waiting for it
// to come back if need be: if the number was advanced, the flush is stored and
// apply succeeds; if not, the store advances it itself (a fence: a late copy of
// the statement can no longer write) and apply throws, so the retry is the only
// copy. A lane carries one flush at a time; concurrent apply calls get lanes
// of their own (created on first need), so they still run in parallel.
//
// Citus (distributed PostgreSQL) runs the same statements unchanged: `domains`
// is sharded by name and `flush_fences` by node (migrations/citus.ts). The
// upsert is still one statement, hence one distributed transaction: the
// coordinator runs the fence UPDATE on the lane's shard and the upsert on every
// shard the flush touches, then commits them all with two-phase commit (PREPARE
// TRANSACTION on each worker, the decision written to the coordinator's
// pg_dist_transaction in its own local commit, then COMMIT PREPARED). After a
// crash, Citus's recovery finishes each prepared transaction as that record
// says, so the fence row and the counts commit together or not at all.
// resolve() stays exact on Citus because it writes before it reads: its fence
// UPDATE needs the fence row's lock, which a prepared but unfinished flush
// still holds, so it waits for that flush's outcome instead of reading the row
// as it was before it.
// The DO UPDATE sets updated_at from EXCLUDED (the column default, now(), at
// insert): Citus refuses a non-IMMUTABLE function such as now() there.
//
// The hot path bypasses the ORM: it sends named statements (prepared once per
// connection) through the pg Pool that TypeORM's DataSource owns, with the
// arrays pre-encoded as PostgreSQL array literals and rows read as arrays.
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient, QueryArrayConfig } from 'pg';
import type { DataSource } from 'typeorm';
import { Counts, DEFAULT_CATCHALL_THRESHOLD, DomainCounts } from '../../models';
import { listStatement } from './list.sql';
import { ApplyOptions, CountDeltas, CounterStore, ListQuery } from '../../ports';
import { poolOf } from './data-source';
import { domainsUpsertSql, upsertStatementName } from './domain-status.sql';
import { RecordedRow, eventSums, recordFlush, recordingUpsertSql } from './recorded-flush';

/** The plain flush: fence advance and upsert in one statement ($1–$3 arrays, $4 lane, $5 sequence number). */
function upsertSql(threshold: number, totals: boolean): string {
  return `WITH fence AS (
  UPDATE flush_fences SET seq = $5::bigint, fenced = false, updated_at = now()
  WHERE node = $4 AND seq = $5::bigint - 1
  RETURNING 1
)
${domainsUpsertSql('fence, ', threshold)}${totals ? '\nRETURNING name, delivered, bounced' : ''}`;
}

const READ_SQL = 'SELECT name, delivered, bounced FROM domains WHERE name = ANY($1::text[])';

/** Claims a sequence number that an unclear flush did not advance, so that flush can never be stored. */
const FENCE_SQL = `UPDATE flush_fences SET seq = $2::bigint, fenced = true, updated_at = now()
WHERE node = $1 AND seq = $2::bigint - 1`;

const FENCE_STATE_SQL = 'SELECT seq, fenced FROM flush_fences WHERE node = $1';

/**
 * Deletes the rows of lanes not seen for the retention period, returning their
 * stats, which the same transaction adds to the 'base' row (EXPIRED_TO_BASE_SQL).
 */
const EXPIRE_LANES_SQL = `DELETE FROM flush_fences WHERE updated_at < now() - $1::interval AND node <> 'base'
RETURNING unknown, catch_all, not_catch_all, delivered, bounced`;

const EXPIRED_TO_BASE_SQL = `INSERT INTO flush_fences (node, seq, unknown, catch_all, not_catch_all, delivered, bounced)
VALUES ('base', 0, $1, $2, $3, $4, $5)
ON CONFLICT (node) DO UPDATE SET
  unknown = flush_fences.unknown + EXCLUDED.unknown, catch_all = flush_fences.catch_all + EXCLUDED.catch_all,
  not_catch_all = flush_fences.not_catch_all + EXCLUDED.not_catch_all,
  delivered = flush_fences.delivered + EXCLUDED.delivered, bounced = flush_fences.bounced + EXCLUDED.bounced`;

/** Rows of stores that have not flushed for this long are deleted when a store opens. */
const FENCE_RETENTION = '30 days';

const RESOLVE_RETRY_MS = { first: 50, max: 1_000 };

export type StoreStatement = 'upsert' | 'read' | 'list' | 'ping' | 'resolve';

/** What the store reports for metrics; the app wires it to Prometheus. */
export interface PostgresStoreObserver {
  statement?(statement: StoreStatement, durationMs: number, ok: boolean): void;
  rowsUpserted?(rows: number): void;
  /** A flush whose outcome was unclear, once resolved. */
  flushResolved?(stored: boolean): void;
}

/** With this, every flush also records status transitions and keeps the stats (recorded-flush.ts). */
export interface TransitionRecording {
  threshold: number;
  /**
   * After a flush that wrote transitions to the outbox committed: sequences
   * them; apply resolves once this does (never rejects), so a change is in the
   * feed when the events that caused it are acknowledged.
   */
  recorded?(): Promise<void>;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/** A fenced write path: one flush at a time, numbered. */
interface Lane {
  id: string;
  /** Number of the last flush sent on this lane (stored or fenced). */
  seq: number;
}

/** A row as pg returns it with rowMode 'array': name, delivered, bounced (bigint as text). */
type CountRow = [string, string, string];

/** What one flush on a lane gave: the totals (when asked for), and whether it recorded transitions. */
interface Applied {
  rows: DomainCounts[];
  recorded: boolean;
}

/** Five bigint sums as text. */
type CountRow5 = [string, string, string, string, string];

export class PostgresCounterStore extends CounterStore {
  readonly kind = 'postgres';
  private readonly pool: Pool;
  /** The upserts, built once with this store's threshold: [without totals, with totals, recording]. */
  private readonly sql: [string, string, string];
  private readonly idleLanes: Lane[] = [];
  private laneCount = 0;
  private closed = false;

  /**
   * Registers this store's first lane in flush_fences and returns it.
   * @param dataSource an initialised DataSource with the schema migrated
   * @param onClosed runs after the DataSource is destroyed (stops an embedded server)
   */
  static async open(
    dataSource: DataSource,
    observer: PostgresStoreObserver = {},
    onClosed?: () => Promise<void>,
    transitions?: TransitionRecording,
  ): Promise<PostgresCounterStore> {
    const store = new PostgresCounterStore(dataSource, randomUUID(), observer, onClosed, transitions);
    await store.expireLanes();
    store.idleLanes.push(await store.newLane());
    return store;
  }

  /** Deletes the rows of lanes gone for the retention period, keeping their stats in 'base'. */
  async expireLanes(retention = FENCE_RETENTION): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const gone = await client.query<CountRow5>({ text: EXPIRE_LANES_SQL, values: [retention], rowMode: 'array' });
      if (gone.rows.length > 0) {
        const sums = [0n, 0n, 0n, 0n, 0n];
        for (const row of gone.rows) row.forEach((v, i) => (sums[i] += BigInt(v)));
        await client.query(EXPIRED_TO_BASE_SQL, sums.map(String));
      }
      await client.query('COMMIT');
      client.release();
      return gone.rows.length;
    } catch (err) {
      client.release(true);
      throw err;
    }
  }

  private constructor(
    /** Public for the idempotent-batch store, which shares the pool. */
    readonly dataSource: DataSource,
    /** Prefix of this store's rows in flush_fences (one per lane: node:0, node:1, ...). */
    readonly node: string,
    private readonly observer: PostgresStoreObserver,
    private readonly onClosed?: () => Promise<void>,
    /** Public for the idempotent-batch store, which records transitions the same way. */
    readonly transitions?: TransitionRecording,
  ) {
    super();
    this.pool = poolOf(dataSource);
    const t = this.threshold;
    this.sql = [upsertSql(t, false), upsertSql(t, true), recordingUpsertSql(t)];
  }

  async apply(deltas: CountDeltas, options?: ApplyOptions): Promise<DomainCounts[]> {
    if (deltas.size === 0) return [];
    if (this.closed) throw new Error('the postgres store is closed');
    const params = toUpsertParams(deltas); // throws on a bad count, before anything is sent
    const lane = this.idleLanes.pop() ?? (await this.newLane());
    let applied: Applied;
    try {
      applied = await this.applyOn(lane, deltas, params, options?.totals !== false);
    } finally {
      this.idleLanes.push(lane);
    }
    // With the lane already free for the next flush.
    if (applied.recorded) await this.transitions?.recorded?.();
    return applied.rows;
  }

  async read(names: readonly string[]): Promise<Map<string, Counts>> {
    const out = new Map<string, Counts>();
    if (names.length === 0) return out;
    const rows = await this.run<CountRow>('read', {
      name: 'catchall_read',
      text: READ_SQL,
      values: [toTextArray([...new Set(names)])],
    });
    for (const row of rows) out.set(row[0], toCounts(row));
    return out;
  }

  async list(query: ListQuery): Promise<DomainCounts[]> {
    const rows = await this.run<CountRow>('list', listStatement(query));
    return rows.map(toDomainCounts);
  }

  async ping(): Promise<void> {
    await this.run('ping', { text: 'SELECT 1', values: [] });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.dataSource.isInitialized) await this.dataSource.destroy();
    } finally {
      await this.onClosed?.();
    }
  }

  /** Connections of the pool, for metrics. */
  poolStats(): PoolStats {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  /** The catch-all threshold that domains.status is written with (the recording's, else the default). */
  get threshold(): number {
    return this.transitions?.threshold ?? DEFAULT_CATCHALL_THRESHOLD;
  }

  /**
   * Runs fn with a lane of its own (for a keyed batch, which adds to the lane's
   * flush_fences row in its transaction, so it shares that row with no one).
   */
  async withLane<T>(fn: (laneId: string) => Promise<T>): Promise<T> {
    const lane = this.idleLanes.pop() ?? (await this.newLane());
    try {
      return await fn(lane.id);
    } finally {
      this.idleLanes.push(lane);
    }
  }

  private async newLane(): Promise<Lane> {
    const lane = { id: `${this.node}:${this.laneCount++}`, seq: 0 };
    await this.pool.query('INSERT INTO flush_fences (node, seq) VALUES ($1, 0)', [lane.id]);
    return lane;
  }

  private async applyOn(
    lane: Lane,
    deltas: CountDeltas,
    params: [string, string, string],
    totals: boolean,
  ): Promise<Applied> {
    const seq = lane.seq + 1;
    const started = performance.now();
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      // Nothing was sent: clearly not stored.
      this.observer.statement?.('upsert', performance.now() - started, false);
      throw err;
    }
    // A checked-out client whose connection dies also emits 'error'; unhandled,
    // that would crash the process. The query's rejection reports it.
    const swallow = () => undefined;
    client.on('error', swallow);
    let rows: DomainCounts[];
    let written: number;
    let recorded = 0;
    try {
      if (this.transitions) {
        ({ written, recorded, rows } = await this.flushRecording(client, lane, seq, deltas, params, totals));
      } else {
        const result = await client.query<CountRow>({
          name: upsertStatementName(totals ? 'catchall_upsert' : 'catchall_upsert_only', this.threshold),
          text: this.sql[totals ? 1 : 0],
          values: [...params, lane.id, seq],
          rowMode: 'array',
        });
        rows = totals ? result.rows.map(toDomainCounts) : [];
        written = result.rowCount ?? 0;
      }
      client.off('error', swallow);
      client.release();
    } catch (err) {
      client.release(true);
      this.observer.statement?.('upsert', performance.now() - started, false);
      lane.seq = seq;
      const stored = await this.resolve(lane, seq);
      this.observer.flushResolved?.(stored);
      if (!stored) throw err;
      // Stored: whatever it recorded is in the outbox, so sequence it as well.
      if (totals) return { rows: await this.totals(deltas), recorded: true };
      this.observer.rowsUpserted?.(deltas.size);
      return { rows: [], recorded: true };
    }
    this.observer.statement?.('upsert', performance.now() - started, true);
    if (written !== deltas.size) {
      // The fence row did not hold our previous number (deleted or changed by
      // hand): nothing was written. Take its number and let the caller retry.
      await this.adoptFence(lane);
      throw new Error('flush refused by its fence (flush_fences row was changed); it will be retried');
    }
    lane.seq = seq;
    this.observer.rowsUpserted?.(written);
    return { rows, recorded: recorded > 0 };
  }

  /** One recording flush, an explicit transaction (recorded-flush.ts); a fence refusal rolls back. */
  private async flushRecording(
    client: PoolClient,
    lane: Lane,
    seq: number,
    deltas: CountDeltas,
    params: [string, string, string],
    totals: boolean,
  ): Promise<{ written: number; recorded: number; rows: DomainCounts[] }> {
    const recording = this.transitions as TransitionRecording;
    await client.query('BEGIN');
    const result = await client.query<RecordedRow>({
      name: upsertStatementName('catchall_upsert_recording', this.threshold),
      text: this.sql[2],
      values: [...params, lane.id, seq, ...eventSums(deltas)],
      rowMode: 'array',
    });
    const written = result.rows.length;
    if (written !== deltas.size) {
      await client.query('ROLLBACK');
      return { written, recorded: 0, rows: [] };
    }
    const counted = result.rows.map((r) => toDomainCounts([r[0], r[1], r[2]]));
    const created = result.rows.map((r) => r[3]);
    const recorded = await recordFlush(client, lane.id, counted, created, deltas, recording.threshold, false);
    await client.query('COMMIT');
    return { written, recorded, rows: totals ? counted : [] };
  }

  /**
   * Whether the flush numbered seq was stored, asking until the database
   * answers (or the store is closed). Fences it off when it was not.
   */
  private async resolve(lane: Lane, seq: number): Promise<boolean> {
    let delay = RESOLVE_RETRY_MS.first;
    for (;;) {
      try {
        const fenced = await this.run('resolve', { text: FENCE_SQL, values: [lane.id, seq] }, true);
        if (fenced.rowCount === 1) return false;
        // Not fenced now: either the flush advanced the number, or an earlier
        // fence attempt of ours did (its answer was lost), or the row is gone.
        const state = await this.run('resolve', { text: FENCE_STATE_SQL, values: [lane.id] }, true);
        const row = state.rows[0] as [string, boolean] | undefined;
        if (!row) {
          await this.pool.query('INSERT INTO flush_fences (node, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING', [lane.id, seq]);
          return false;
        }
        return Number(row[0]) === seq && !row[1];
      } catch {
        if (this.closed) throw new Error(`the postgres store closed while flush ${seq} was in doubt`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, RESOLVE_RETRY_MS.max);
      }
    }
  }

  private async adoptFence(lane: Lane): Promise<void> {
    await this.pool.query('INSERT INTO flush_fences (node, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING', [lane.id, lane.seq]);
    const state = await this.pool.query<{ seq: string }>('SELECT seq FROM flush_fences WHERE node = $1', [lane.id]);
    lane.seq = Number(state.rows[0]?.seq ?? lane.seq);
  }

  /** Totals of the domains of a flush that was stored but whose answer was lost. */
  private async totals(deltas: CountDeltas): Promise<DomainCounts[]> {
    const totals = await this.read([...deltas.keys()]);
    this.observer.rowsUpserted?.(totals.size);
    return [...totals].map(([name, c]) => ({ name, ...c }));
  }

  private async run<R extends unknown[]>(
    statement: StoreStatement,
    query: Omit<QueryArrayConfig, 'rowMode'>,
    full?: false,
  ): Promise<R[]>;
  private async run<R extends unknown[]>(
    statement: StoreStatement,
    query: Omit<QueryArrayConfig, 'rowMode'>,
    full: true,
  ): Promise<{ rows: R[]; rowCount: number | null }>;
  private async run<R extends unknown[]>(
    statement: StoreStatement,
    query: Omit<QueryArrayConfig, 'rowMode'>,
    full = false,
  ): Promise<R[] | { rows: R[]; rowCount: number | null }> {
    const started = performance.now();
    try {
      const result = await this.pool.query<R>({ ...query, rowMode: 'array' });
      this.observer.statement?.(statement, performance.now() - started, true);
      return full ? result : result.rows;
    } catch (err) {
      this.observer.statement?.(statement, performance.now() - started, false);
      throw err;
    }
  }
}

/**
 * The upsert's three array parameters, sorted by name. Throws before anything
 * is sent when a count is not a non-negative safe integer (all or nothing).
 */
export function toUpsertParams(deltas: CountDeltas): [string, string, string] {
  const names = [...deltas.keys()].sort();
  const delivered = new Array<number>(names.length);
  const bounced = new Array<number>(names.length);
  for (let i = 0; i < names.length; i++) {
    const c = deltas.get(names[i]) as Counts;
    if (!isCount(c.delivered) || !isCount(c.bounced)) {
      throw new RangeError(`counts must be non-negative safe integers (domain ${JSON.stringify(names[i])})`);
    }
    delivered[i] = c.delivered;
    bounced[i] = c.bounced;
  }
  return [toTextArray(names), `{${delivered.join(',')}}`, `{${bounced.join(',')}}`];
}

/** A PostgreSQL array literal of strings, every element quoted (so "NULL" stays a string). */
export function toTextArray(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    out += '"' + (/["\\]/.test(v) ? v.replace(/["\\]/g, '\\$&') : v) + '"';
  }
  return out + '}';
}

export function toDomainCounts(row: CountRow): DomainCounts {
  return { name: row[0], delivered: toCount(row[1]), bounced: toCount(row[2]) };
}

function toCounts(row: CountRow): Counts {
  return { delivered: toCount(row[1]), bounced: toCount(row[2]) };
}

/** A bigint column (text from pg) as a number; counts past 2^53 would lose precision, so they fail loudly. */
function toCount(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`count ${value} is beyond the exact range of a number`);
  return n;
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}
