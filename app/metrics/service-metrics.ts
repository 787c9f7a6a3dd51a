// The service's own Prometheus series, fed by the ingest service's observer port
// and sampled from its stats at scrape time.
import { Counter, Gauge, Histogram } from 'prom-client';
import { Metrics } from '../../foundation/metrics/metrics';
import { FlushReport, IngestObserver } from '../../business/ports';
import { IngestService } from '../../business/services';

export class ServiceMetrics implements IngestObserver {
  private readonly received: Counter<'type'>;
  private readonly rejected: Counter<'reason'>;
  private readonly flushes: Counter<'result'>;
  private readonly flushDuration: Histogram<'result'>;
  private readonly flushDomains: Histogram;
  private readonly flushEvents: Counter;
  private ingest: IngestService | undefined;

  constructor(readonly metrics: Metrics) {
    const registers = [metrics.registry];
    this.received = new Counter({
      name: 'catchall_events_received_total',
      help: 'Events accepted for counting, by type',
      labelNames: ['type'],
      registers,
    });
    this.rejected = new Counter({
      name: 'catchall_events_rejected_total',
      help: 'Valid events refused, by reason (overloaded: the pending backlog was full)',
      labelNames: ['reason'],
      registers,
    });
    this.flushes = new Counter({
      name: 'catchall_flushes_total',
      help: 'Flushes of coalesced deltas to the store, by result',
      labelNames: ['result'],
      registers,
    });
    this.flushDuration = new Histogram({
      name: 'catchall_flush_duration_seconds',
      help: 'Time to write one flush to the store (commit latency), by result',
      labelNames: ['result'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.flushDomains = new Histogram({
      name: 'catchall_flush_domains',
      help: 'Distinct domains written per flush',
      buckets: [1, 10, 100, 1000, 5000, 10000, 50000, 100000],
      registers,
    });
    this.flushEvents = new Counter({
      name: 'catchall_flushed_events_total',
      help: 'Events stored by successful flushes',
      registers,
    });
    const ingest = (): IngestService | undefined => this.ingest;
    new Gauge({
      name: 'catchall_pending_events',
      help: 'Events accepted but not yet stored (pending and in flight)',
      registers,
      collect() {
        this.set(ingest()?.backlog ?? 0);
      },
    });
    new Gauge({
      name: 'catchall_pending_events_limit',
      help: 'MAX_PENDING_EVENTS: past it new events are refused with 503 (alerts compare the backlog to it)',
      registers,
      collect() {
        this.set(ingest()?.maxPendingEvents ?? 0);
      },
    });
    new Gauge({
      name: 'catchall_pending_domains',
      help: 'Distinct domains in the pending map',
      registers,
      collect() {
        this.set(ingest()?.stats().pendingDomains ?? 0);
      },
    });
    new Gauge({
      name: 'catchall_flush_consecutive_failures',
      help: 'Failed flushes since the last success (0 when healthy)',
      registers,
      collect() {
        this.set(ingest()?.stats().consecutiveFailures ?? 0);
      },
    });
  }

  /** The gauges read the ingest service at scrape time. */
  watch(ingest: IngestService): void {
    this.ingest = ingest;
  }

  eventsAccepted(type: 'delivered' | 'bounced', n: number): void {
    this.received.inc({ type }, n);
  }

  eventsRejected(reason: 'overloaded', n: number): void {
    this.rejected.inc({ reason }, n);
  }

  flushSucceeded(r: FlushReport): void {
    this.flushes.inc({ result: 'ok' });
    this.flushDuration.observe({ result: 'ok' }, r.durationMs / 1000);
    this.flushDomains.observe(r.domains);
    this.flushEvents.inc(r.events);
  }

  flushFailed(r: FlushReport): void {
    this.flushes.inc({ result: 'error' });
    this.flushDuration.observe({ result: 'error' }, r.durationMs / 1000);
  }
}
