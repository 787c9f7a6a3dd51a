// Prometheus series of webhook delivery, labelled by endpoint key (the short
// hash in webhook-id; the log line at start names its URL), never by URL: URLs
// may carry tokens. Parked deliveries are read from the shared state at scrape
// time, so every node reports those of every node.
import { Counter, Gauge } from 'prom-client';
import { WebhookFailure, WebhookState } from '../../business/ports';
import { WebhookObserver } from '../../business/services';
import { withTimeout } from '../../foundation/health/with-timeout';
import { Metrics } from '../../foundation/metrics/metrics';

/** A scrape never waits longer than this for the parked counts (the last known are shown instead). */
const COUNTS_TIMEOUT_MS = 1_000;

export class WebhookMetrics implements WebhookObserver {
  private readonly deliveries: Counter<'endpoint'>;
  private readonly attempts: Counter<'endpoint'>;
  private readonly parkedHere: Counter<'endpoint'>;
  private readonly leases: Gauge<'endpoint'>;

  constructor(metrics: Metrics, endpoints: readonly string[], state: WebhookState) {
    const registers = [metrics.registry];
    this.deliveries = new Counter({
      name: 'catchall_webhook_deliveries_total',
      help: 'Changes delivered (2xx) by this node, by endpoint key',
      labelNames: ['endpoint'],
      registers,
    });
    this.attempts = new Counter({
      name: 'catchall_webhook_failed_attempts_total',
      help: 'Delivery attempts that failed (non-2xx, timeout, network error) on this node, by endpoint key',
      labelNames: ['endpoint'],
      registers,
    });
    this.parkedHere = new Counter({
      name: 'catchall_webhook_parked_total',
      help: 'Deliveries this node parked after the last attempt, by endpoint key',
      labelNames: ['endpoint'],
      registers,
    });
    this.leases = new Gauge({
      name: 'catchall_webhook_lease_held',
      help: '1 while this node delivers to the endpoint (holds its lease), else 0',
      labelNames: ['endpoint'],
      registers,
    });
    // The last counts read: shown again when the state does not answer in time.
    const last = { counts: new Map<string, number>() };
    new Gauge({
      name: 'catchall_webhook_parked',
      help: 'Parked deliveries recorded (by every node), by endpoint key: see GET /webhooks/failures',
      labelNames: ['endpoint'],
      registers,
      async collect() {
        last.counts = await withTimeout(state.parkedCounts(), COUNTS_TIMEOUT_MS, 'the webhook state').catch(() => last.counts);
        for (const ep of endpoints) this.set({ endpoint: ep }, last.counts.get(ep) ?? 0);
      },
    });
    for (const ep of endpoints) {
      this.deliveries.inc({ endpoint: ep }, 0);
      this.attempts.inc({ endpoint: ep }, 0);
      this.parkedHere.inc({ endpoint: ep }, 0);
      this.leases.set({ endpoint: ep }, 0);
    }
  }

  delivered(endpoint: string): void {
    this.deliveries.inc({ endpoint });
  }

  attemptFailed(endpoint: string): void {
    this.attempts.inc({ endpoint });
  }

  parked(failure: WebhookFailure): void {
    this.parkedHere.inc({ endpoint: failure.endpoint });
  }

  lease(endpoint: string, held: boolean): void {
    this.leases.set({ endpoint }, held ? 1 : 0);
  }
}
