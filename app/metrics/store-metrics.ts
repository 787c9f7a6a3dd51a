// Prometheus series of the PostgreSQL counter store: statement latency (the
// commit latency of a flush is the upsert's), errors, rows upserted, and the
// connection pool sampled at scrape time.
import { Counter, Gauge, Histogram } from 'prom-client';
import type { PoolStats, PostgresStoreObserver, StoreStatement } from '../../business/adapters/postgres/postgres-counter-store.adapter';
import { Metrics } from '../../foundation/metrics/metrics';

export class StoreMetrics implements PostgresStoreObserver {
  private readonly duration: Histogram<'statement' | 'result'>;
  private readonly errors: Counter<'statement'>;
  private readonly rows: Counter;
  private readonly resolved: Counter<'outcome'>;
  private pool: { poolStats(): PoolStats } | undefined;

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    this.duration = new Histogram({
      name: 'catchall_store_statement_duration_seconds',
      help: 'Latency of store statements (upsert: one flush chunk, committed; resolve: checking a flush in doubt), by statement and result',
      labelNames: ['statement', 'result'],
      buckets: [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.errors = new Counter({
      name: 'catchall_store_errors_total',
      help: 'Store statements that failed (database unreachable, timeouts, constraint errors), by statement',
      labelNames: ['statement'],
      registers,
    });
    this.rows = new Counter({
      name: 'catchall_store_rows_upserted_total',
      help: 'Domain rows written by flush upserts',
      registers,
    });
    this.resolved = new Counter({
      name: 'catchall_store_flushes_in_doubt_total',
      help: 'Flushes whose connection failed around the commit, by what the store found (stored: not retried; not_stored: fenced and retried)',
      labelNames: ['outcome'],
      registers,
    });
    const pool = () => this.pool;
    new Gauge({
      name: 'catchall_store_pool_connections',
      help: 'Database pool connections: total open, idle, and requests waiting for one',
      labelNames: ['state'],
      registers,
      collect() {
        const s = pool()?.poolStats();
        if (!s) return;
        this.set({ state: 'total' }, s.total);
        this.set({ state: 'idle' }, s.idle);
        this.set({ state: 'waiting' }, s.waiting);
      },
    });
  }

  /** The pool gauge reads the store at scrape time. */
  watch(store: { poolStats(): PoolStats }): void {
    this.pool = store;
  }

  statement(statement: StoreStatement, durationMs: number, ok: boolean): void {
    this.duration.observe({ statement, result: ok ? 'ok' : 'error' }, durationMs / 1000);
    if (!ok) this.errors.inc({ statement });
  }

  rowsUpserted(rows: number): void {
    this.rows.inc(rows);
  }

  flushResolved(stored: boolean): void {
    this.resolved.inc({ outcome: stored ? 'stored' : 'not_stored' });
  }
}
