// The standard OTEL_* variables are read by the OpenTelemetry SDK itself, so
// what it supports works without the service knowing about it: a list of
// exporters (zipkin to a local receiver, OTLP over gRPC to a collector that is
// down, and one it does not know), the b3 propagator, OTEL_BSP_* and the
// exporter timeout.
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { loadAppConfig } from '../app/config';
import { startServer } from '../app/main';
import type { RunningServer } from '../app/server';
import { startTelemetry } from '../app/tracing/setup';
import type { Tracing } from '../foundation/tracing/tracing';

interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind?: string;
  localEndpoint?: { serviceName?: string };
}

let zipkin: Server;
/** What the Zipkin receiver was sent: one JSON array of spans per POST. */
const received: ZipkinSpan[] = [];
const posts: { path: string; contentType: string }[] = [];
const logged: string[] = [];
let tracing: Tracing;
let server: RunningServer;

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

beforeAll(async () => {
  zipkin = createServer((req, res) => {
    void body(req).then((text) => {
      posts.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '' });
      received.push(...(JSON.parse(text) as ZipkinSpan[]));
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => zipkin.listen(0, '127.0.0.1', resolve));
  const zipkinPort = (zipkin.address() as AddressInfo).port;
  const env = {
    STORE: 'memory',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'fatal',
    OTEL_TRACES_SAMPLER: 'always_on',
    TRACES_MAX_PER_SECOND: '0',
    OTEL_SERVICE_NAME: 'catchall-env-test',
    OTEL_TRACES_EXPORTER: 'zipkin,otlp,jaeger',
    OTEL_EXPORTER_ZIPKIN_ENDPOINT: `http://127.0.0.1:${zipkinPort}/api/v2/spans`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
    OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
    OTEL_PROPAGATORS: 'b3',
    OTEL_BSP_SCHEDULE_DELAY: '50',
  };
  const telemetry = startTelemetry(loadAppConfig(env), env, { log: (level, msg) => logged.push(`${level}: ${msg}`) });
  tracing = telemetry.tracing!;
  server = await startServer(env, telemetry);
});

afterAll(async () => {
  await server?.close();
  await tracing?.shutdown(2000);
  await new Promise((resolve) => zipkin?.close(resolve));
});

it('continues a caller trace given in a b3 header and exports it to Zipkin', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const callerSpanId = '00f067aa0ba902b7';
  const res = await fetch(`${server.url}/events/b3.example.com/delivered`, {
    method: 'PUT',
    headers: { b3: `${traceId}-${callerSpanId}-1` },
  });
  expect(res.status).toBe(204);
  await tracing.forceFlush();

  const put = received.find((s) => /^put \/events\/:domain\/:type$/i.test(s.name));
  expect(put).toMatchObject({ traceId, parentId: callerSpanId, kind: 'SERVER', localEndpoint: { serviceName: 'catchall-env-test' } });
  expect(posts[0]).toMatchObject({ path: '/api/v2/spans', contentType: expect.stringContaining('application/json') });
});

it('ignores a W3C traceparent when OTEL_PROPAGATORS names only b3', async () => {
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const res = await fetch(`${server.url}/events/w3c.example.com/delivered`, {
    method: 'PUT',
    headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
  });
  expect(res.status).toBe(204);
  await tracing.forceFlush();
  const spans = received.filter((s) => /put \/events/i.test(s.name));
  expect(spans.length).toBeGreaterThanOrEqual(2);
  expect(spans.some((s) => s.traceId === traceId)).toBe(false);
});

it('says which exporter the SDK does not know, at start, and carries on', () => {
  expect(logged).toContainEqual(expect.stringMatching(/^warn: opentelemetry: Unrecognized OTEL_TRACES_EXPORTER value: jaeger/));
});

it('exports over gRPC too, and says once that its collector is down', async () => {
  await tracing.forceFlush();
  const failures = logged.filter((l) => /export/i.test(l) && !/Unrecognized/.test(l));
  // @grpc/grpc-js's status for a refused connection: the OTLP exporter in use is the gRPC one.
  expect(failures).toEqual([expect.stringMatching(/^warn: trace export to http:\/\/127\.0\.0\.1:1 fails \(.*UNAVAILABLE/)]);
});
