// Flush spans link back to the sampled requests gathered since the previous
// flush started (at most MAX_LINKS), and a failed flush hands its links to the
// flush that retries its events.
import { SpanContext, TraceFlags } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { FlushResult } from '../../business/ports';
import { FLUSH_SPAN_NAME, FlushSpans, MAX_LINKS } from './flush-spans';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');

const request = (i: number): SpanContext => ({
  traceId: i.toString(16).padStart(32, '0'),
  spanId: i.toString(16).padStart(16, '0'),
  traceFlags: TraceFlags.SAMPLED,
});
const start = { domains: 1, events: 1, chunks: 1 };
const ok: FlushResult = { ok: true, report: { ...start, durationMs: 3 } };
const failed: FlushResult = { ok: false, report: { ...start, durationMs: 3 }, error: new Error('down'), retryInMs: 50 };
const linkedIds = () => exporter.getFinishedSpans().map((s) => s.links.map((l) => l.context.spanId));

beforeEach(() => exporter.reset());

describe('FlushSpans', () => {
  it('links a flush to the requests gathered since the last one started, at most MAX_LINKS', () => {
    const spans = new FlushSpans(tracer, () => false);
    for (let i = 1; i <= MAX_LINKS + 10; i++) spans.add(request(i));
    spans.add(undefined); // an unsampled request
    const first = spans.start(start);
    spans.add(request(999)); // arrived after the flush took the map: the next flush's
    first.end(ok);
    spans.start(start).end(ok);
    const [a, b] = exporter.getFinishedSpans();
    expect(a.name).toBe(FLUSH_SPAN_NAME);
    expect(a.links).toHaveLength(MAX_LINKS);
    expect(a.attributes).toMatchObject({ 'catchall.flush.linked_requests': MAX_LINKS, 'catchall.flush.result': 'ok', 'catchall.flush.commit_ms': 3 });
    expect(b.links.map((l) => l.context.spanId)).toEqual([request(999).spanId]);
  });

  it('hands the links of a failed flush to the next one, and marks the failure', () => {
    const spans = new FlushSpans(tracer, () => false);
    spans.add(request(1));
    const first = spans.start(start);
    first.end(failed);
    spans.start(start).end(ok);
    expect(linkedIds()).toEqual([[request(1).spanId], [request(1).spanId]]);
    const [f] = exporter.getFinishedSpans();
    expect(f.status).toMatchObject({ code: 2, message: 'down' });
    expect(f.attributes).toMatchObject({ 'catchall.flush.result': 'error', 'catchall.flush.retry_in_ms': 50 });
  });

  it('makes no span for a flush with no sampled request unless the sampler picks it', () => {
    let pick = false;
    const spans = new FlushSpans(tracer, () => pick);
    const unsampled = spans.start(start);
    expect(unsampled.logFields()).toEqual({});
    unsampled.end(ok);
    pick = true;
    const sampled = spans.start(start);
    expect(sampled.logFields()).toMatchObject({ trace_id: expect.any(String) });
    sampled.end(ok);
    expect(exporter.getFinishedSpans()).toHaveLength(1);
  });
});
