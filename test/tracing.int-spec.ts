// Spans of a real server, caught by an in-memory exporter: a request's server
// span (route template, status, a caller's traceparent continued), the flush
// span linked to the sampled requests it stored (also after a body was parsed),
// and none for scrapes and probes. TRACES_DETAIL=basic: none of this needs the
// active context to follow awaits (the process test covers `full`).
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadAppConfig } from '../app/config';
import { startServer } from '../app/main';
import type { RunningServer } from '../app/server';
import { FLUSH_SPAN_NAME } from '../app/tracing/flush-spans';
import { startTelemetry } from '../app/tracing/setup';
import type { Tracing } from '../foundation/tracing/tracing';

const env = {
  STORE: 'memory',
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'error',
  OTEL_TRACES_SAMPLER: 'always_on',
  TRACES_MAX_PER_SECOND: '0',
  TRACES_DETAIL: 'basic',
};

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let server: RunningServer;

beforeAll(async () => {
  const telemetry = startTelemetry(loadAppConfig(env), env, { exporter });
  tracing = telemetry.tracing!;
  server = await startServer(env, telemetry);
});

afterAll(async () => {
  await server?.close();
  await tracing?.shutdown(2000);
});

beforeEach(async () => {
  await tracing.forceFlush();
  exporter.reset();
});

async function finished(): Promise<ReadableSpan[]> {
  await tracing.forceFlush();
  return exporter.getFinishedSpans();
}

const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

describe('tracing', () => {
  it('traces a PUT and links the flush that stored its event to it', async () => {
    const res = await fetch(`${server.url}/events/Traced.Example.COM/delivered`, { method: 'PUT' });
    expect(res.status).toBe(204);
    const spans = await finished();

    const [put] = named(spans, 'PUT /events/:domain/:type');
    expect(put).toBeDefined();
    expect(put.kind).toBe(SpanKind.SERVER);
    expect(put.parentSpanContext).toBeUndefined();
    expect(put.attributes).toMatchObject({
      'http.request.method': 'PUT',
      'http.route': '/events/:domain/:type',
      'url.path': '/events/Traced.Example.COM/delivered',
      'http.response.status_code': 204,
    });
    expect(put.resource.attributes).toMatchObject({ 'service.name': 'catchall', 'service.version': expect.any(String) });
    expect(put.resource.attributes['service.instance.id']).toEqual(expect.any(String));

    const flushes = named(spans, FLUSH_SPAN_NAME).filter((f) =>
      f.links.some((l) => l.context.spanId === put.spanContext().spanId),
    );
    expect(flushes).toHaveLength(1);
    const [flush] = flushes;
    // Its own trace, linked (not parented) to the request it acknowledged.
    expect(flush.parentSpanContext).toBeUndefined();
    expect(flush.spanContext().traceId).not.toBe(put.spanContext().traceId);
    expect(flush.links).toContainEqual(expect.objectContaining({ context: expect.objectContaining({ traceId: put.spanContext().traceId }) }));
    expect(flush.attributes).toMatchObject({
      'catchall.flush.domains': 1,
      'catchall.flush.events': 1,
      'catchall.flush.result': 'ok',
      'catchall.flush.linked_requests': 1,
    });
    expect(typeof flush.attributes['catchall.flush.commit_ms']).toBe('number');
    // Durable ack: the flush ended (committed) before the request was answered.
    expect(hrMs(flush.endTime)).toBeLessThanOrEqual(hrMs(put.endTime));
  });

  it('links every concurrent request to the flush that acknowledged it', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => fetch(`${server.url}/events/c${i}.example.com/bounced`, { method: 'PUT' })),
    );
    expect(results.every((r) => r.status === 204)).toBe(true);
    const spans = await finished();
    const puts = named(spans, 'PUT /events/:domain/:type');
    expect(puts).toHaveLength(20);
    const linked = new Set(named(spans, FLUSH_SPAN_NAME).flatMap((f) => f.links.map((l) => l.context.spanId)));
    for (const p of puts) expect(linked.has(p.spanContext().spanId)).toBe(true);
    const links = named(spans, FLUSH_SPAN_NAME).reduce((n, f) => n + f.links.length, 0);
    expect(links).toBe(20);
  });

  it('links the flush to a POST /events batch, whose handler runs after the body is parsed', async () => {
    const res = await fetch(`${server.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '{"domain":"n1.example.com","type":"delivered"}\n{"domain":"n2.example.com","type":"bounced"}\n',
    });
    expect(res.status).toBe(200);
    const spans = await finished();
    const [post] = named(spans, 'POST /events');
    expect(post).toBeDefined();
    const flush = named(spans, FLUSH_SPAN_NAME).find((f) => f.links.some((l) => l.context.spanId === post.spanContext().spanId));
    expect(flush?.attributes['catchall.flush.events']).toBe(2);
  });

  it('continues a caller’s trace on GET and records the status code', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parentId = 'b7ad6b7169203331';
    const res = await fetch(`${server.url}/domains/traced.example.com`, {
      headers: { traceparent: `00-${traceId}-${parentId}-01` },
    });
    expect(res.status).toBe(200);
    const bad = await fetch(`${server.url}/domains/not_a_domain`);
    expect(bad.status).toBe(400);
    const spans = await finished();

    const gets = named(spans, 'GET /domains/:domain');
    const child = gets.find((s) => s.spanContext().traceId === traceId);
    expect(child).toBeDefined();
    expect(child!.parentSpanContext).toMatchObject({ traceId, spanId: parentId, isRemote: true });
    expect(child!.attributes['http.response.status_code']).toBe(200);

    const failed = gets.find((s) => s.attributes['http.response.status_code'] === 400);
    expect(failed).toBeDefined();
    expect(failed!.spanContext().traceId).not.toBe(traceId);
    // 4xx is the client's error: the server span stays unset (OpenTelemetry HTTP conventions).
    expect(failed!.status.code).toBe(0);
  });

  it('makes no spans for scrapes, probes and the trace page', async () => {
    for (const path of ['/metrics', '/health/live', '/health/ready', '/health', '/debug/traces']) {
      expect((await fetch(`${server.url}${path}`)).status).toBe(200);
    }
    expect(await finished()).toEqual([]);
  });

  it('keeps the sampled traces for the trace page (on by default in development)', async () => {
    await fetch(`${server.url}/domains/page.example.com`);
    const res = await fetch(`${server.url}/debug/traces?format=json`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { recent: Array<{ name: string; spans: Array<{ attributes: Record<string, unknown> }> }> };
    const get = body.recent.find((t) => t.spans.some((s) => s.attributes['url.path'] === '/domains/page.example.com'));
    expect(get?.name).toBe('GET /domains/:domain');
  });

  it('makes no span for an unmatched route (no unbounded span names)', async () => {
    expect((await fetch(`${server.url}/no/such/route/${Math.random()}`)).status).toBe(404);
    expect(await finished()).toEqual([]);
  });
});

function hrMs(t: [number, number]): number {
  return t[0] * 1e3 + t[1] / 1e6;
}
