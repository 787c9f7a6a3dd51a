// The store stats as Prometheus gauges, read from the store at scrape time (one
// short query: the stats are kept by the flushes, see StoreStatsSource).
import { Gauge } from 'prom-client';
import { StoreStatsSource } from '../../business/ports';
import { Metrics } from '../../foundation/metrics/metrics';

export function registerStatsMetrics(metrics: Metrics, stats: StoreStatsSource): void {
  const registers = [metrics.registry];
  let reading: ReturnType<StoreStatsSource['read']> | undefined;
  // Both gauges are collected in one scrape: share one read.
  const read = () => {
    reading ??= stats.read().finally(() => setImmediate(() => (reading = undefined)));
    return reading;
  };
  new Gauge({
    name: 'catchall_domains',
    help: 'Domains in the store, by status (exact as of the last flush)',
    labelNames: ['status'],
    registers,
    async collect() {
      const s = await read().catch(() => undefined);
      if (!s) return;
      for (const [status, n] of Object.entries(s.domains)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'catchall_events_stored',
    help: 'Events counted in the store, by type (exact as of the last flush)',
    labelNames: ['type'],
    registers,
    async collect() {
      const s = await read().catch(() => undefined);
      if (!s) return;
      this.set({ type: 'delivered' }, s.events.delivered);
      this.set({ type: 'bounced' }, s.events.bounced);
    },
  });
}
