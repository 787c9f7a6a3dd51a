// Prometheus series of idempotent batches (POST /events with Idempotency-Key):
// how keyed requests ended, and expired keys deleted.
import { Counter } from 'prom-client';
import { Metrics } from '../../foundation/metrics/metrics';
import { KeyedRequestOutcome } from '../../business/services';

export class IdempotencyMetrics {
  private readonly outcomes: Counter<'outcome'>;
  private readonly pruned: Counter;

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    this.outcomes = new Counter({
      name: 'catchall_idempotent_batches_total',
      help: 'Keyed POST /events requests by outcome (applied, replayed, reused: 422, in_flight: 409, timeout/overloaded/shutting_down/not_stored: 503)',
      labelNames: ['outcome'],
      registers,
    });
    this.pruned = new Counter({
      name: 'catchall_idempotency_keys_pruned_total',
      help: 'Expired idempotency keys deleted',
      registers,
    });
  }

  outcome(outcome: KeyedRequestOutcome): void {
    this.outcomes.inc({ outcome });
  }

  keysPruned(n: number): void {
    this.pruned.inc(n);
  }
}
