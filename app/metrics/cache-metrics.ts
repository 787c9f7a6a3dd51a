// The cache's Prometheus series, fed by its observer: lookups by result (hit,
// miss, bypass), Redis call latency, failed and refused Redis calls, rows
// written, the breaker state and generation changes.
import { Counter, Gauge, Histogram } from 'prom-client';
import { CacheObserver, CacheOp, LookupResult, WriteKind, WriteResult } from '../../business/adapters/redis-cache/cache-observer';
import { Metrics } from '../../foundation/metrics/metrics';
import { BreakerState } from '../../foundation/resilience/circuit-breaker';

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export class CacheMetrics implements CacheObserver {
  private readonly lookupCounter: Counter<'result'>;
  private readonly callDuration: Histogram<'op' | 'result'>;
  private readonly errors: Counter<'op'>;
  private readonly refusals: Counter<'op'>;
  private readonly writeCounter: Counter<'kind' | 'result'>;
  private readonly breakerState: Gauge;
  private readonly breakerOpened: Counter;
  private readonly invalidations: Counter;

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    this.lookupCounter = new Counter({
      name: 'catchall_cache_lookups_total',
      help: 'Domains looked up in the cache: hit, miss (read from the store) or bypass (cache not asked: down or being invalidated)',
      labelNames: ['result'],
      registers,
    });
    this.callDuration = new Histogram({
      name: 'catchall_cache_call_duration_seconds',
      help: 'Redis calls by operation (read, merge, invalidate, probe) and result (ok, error), timeouts included',
      labelNames: ['op', 'result'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.errors = new Counter({
      name: 'catchall_cache_errors_total',
      help: 'Redis calls that failed or timed out, by operation',
      labelNames: ['op'],
      registers,
    });
    this.refusals = new Counter({
      name: 'catchall_cache_skipped_calls_total',
      help: 'Redis calls not made because the circuit breaker was open, by operation',
      labelNames: ['op'],
      registers,
    });
    this.writeCounter = new Counter({
      name: 'catchall_cache_writes_total',
      help: 'Domain rows written to the cache, by kind (flush: write-through, fill: read-through) and result',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.breakerState = new Gauge({
      name: 'catchall_cache_breaker_state',
      help: 'Circuit breaker in front of Redis: 0 closed (in use), 1 half-open (probing), 2 open (skipped)',
      registers,
    });
    this.breakerOpened = new Counter({
      name: 'catchall_cache_breaker_opened_total',
      help: 'Times the circuit breaker in front of Redis opened',
      registers,
    });
    this.invalidations = new Counter({
      name: 'catchall_cache_invalidations_total',
      help: 'New cache generations started after writes that missed the cache',
      registers,
    });
    this.breakerState.set(0);
  }

  lookups(result: LookupResult, n: number): void {
    this.lookupCounter.inc({ result }, n);
  }

  called(op: CacheOp, durationMs: number, ok: boolean): void {
    this.callDuration.observe({ op, result: ok ? 'ok' : 'error' }, durationMs / 1000);
  }

  failed(op: CacheOp): void {
    this.errors.inc({ op });
  }

  refused(op: CacheOp): void {
    this.refusals.inc({ op });
  }

  writes(kind: WriteKind, result: WriteResult, rows: number): void {
    this.writeCounter.inc({ kind, result }, rows);
  }

  breakerChanged(state: BreakerState): void {
    this.breakerState.set(BREAKER_VALUE[state]);
    if (state === 'open') this.breakerOpened.inc();
  }

  invalidated(): void {
    this.invalidations.inc();
  }
}
