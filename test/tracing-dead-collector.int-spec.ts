// A collector that is down must cost the service nothing it can see: every span
// sampled and exported to a port where nothing listens, with a tiny batch queue
// that overflows, and requests are still all answered; the failing
// export is logged once, not once per batch; stopping tracing does not wait
// for the dead collector.
import { loadAppConfig } from '../app/config';
import { startServer } from '../app/main';
import type { RunningServer } from '../app/server';
import { startTelemetry } from '../app/tracing/setup';
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
/** What tracing logged about itself. */
const logged: string[] = [];

beforeAll(async () => {
  const telemetry = startTelemetry(loadAppConfig(env), { log: (level, msg) => logged.push(`${level}: ${msg}`) });
  tracing = telemetry.tracing!;
  server = await startServer(env, telemetry);
});

afterAll(async () => {
  await server?.close();
});

it('answers every request while each export fails', async () => {
  const total = 2000;
  const concurrency = 40;
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const res = await fetch(`${server.url}/events/dead${i % 200}.example.com/delivered`, { method: 'PUT' });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  expect(Object.fromEntries(statuses)).toEqual({ 204: total });
  // How much a dead collector costs in latency is measured in bench/tracing-bench.ts, not asserted here.
  const res = await fetch(`${server.url}/domains/dead7.example.com`);
  expect(await res.json()).toMatchObject({ delivered: 10 });
});

it('logs the unreachable collector once, not on every failed export', async () => {
  // Many exports have failed by now (a batch every 20 ms, 32 spans at most each).
  await tracing.forceFlush();
  expect(logged.length).toBeGreaterThan(0);
  const failures = logged.filter((l) => /export|collector|ECONNREFUSED|dropped|span/i.test(l));
  expect(failures).toEqual([expect.stringMatching(/^warn: trace export to http:\/\/127\.0\.0\.1:1\/v1\/traces fails \(/)]);
});

it('has no trace page in production unless TRACES_UI=true', async () => {
  expect((await fetch(`${server.url}/debug/traces`)).status).toBe(404);
});

it('stops tracing within its deadline although the collector never answers', async () => {
  const started = Date.now();
  await tracing.shutdown(1000);
  expect(Date.now() - started).toBeLessThan(1500);
});
