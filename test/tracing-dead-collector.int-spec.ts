// A collector that is down must cost the service nothing it can see: every span
// sampled and exported to a port where nothing listens, with a tiny batch queue
// that overflows, and requests are still all answered, quickly; stopping
// tracing does not wait for the dead collector.
import { loadAppConfig } from '../app/config';
import { startServer } from '../app/main';
import type { RunningServer } from '../app/server';
import { setupTracing } from '../app/tracing/setup';
import type { Tracing } from '../foundation/tracing/tracing';

const env = {
  STORE: 'memory',
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'fatal',
  NODE_ENV: 'production',
  AUTH: 'none',
  OTEL_TRACES_SAMPLER: 'always_on',
  OTEL_TRACES_EXPORTER: 'otlp',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
  OTEL_EXPORTER_OTLP_TIMEOUT: '500',
  OTEL_BSP_SCHEDULE_DELAY: '20',
  OTEL_BSP_MAX_QUEUE_SIZE: '128',
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '32',
};

let tracing: Tracing;
let server: RunningServer;

beforeAll(async () => {
  tracing = setupTracing(loadAppConfig(env))!;
  server = await startServer(env);
});

afterAll(async () => {
  await server?.close();
});

it('answers every request while each export fails', async () => {
  const total = 2000;
  const concurrency = 40;
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const started = performance.now();
      const res = await fetch(`${server.url}/events/dead${i % 200}.example.com/delivered`, { method: 'PUT' });
      await res.arrayBuffer();
      latencies.push(performance.now() - started);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  expect(Object.fromEntries(statuses)).toEqual({ 204: total });
  latencies.sort((a, b) => a - b);
  // Generous bound for a shared CI box; a blocked export would show up as
  // seconds (the export timeout), not milliseconds.
  expect(latencies[Math.floor(total * 0.99)]).toBeLessThan(400);
  const res = await fetch(`${server.url}/domains/dead7.example.com`);
  expect(await res.json()).toMatchObject({ delivered: 10 });
});

it('has no trace page in production unless TRACES_UI=true', async () => {
  expect((await fetch(`${server.url}/debug/traces`)).status).toBe(404);
});

it('stops tracing within its deadline although the collector never answers', async () => {
  const started = Date.now();
  await tracing.shutdown(1000);
  expect(Date.now() - started).toBeLessThan(1500);
});
