import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { TraceBuffer } from './trace-buffer';
import { renderTracePage } from './trace-page';

let seq = 0;
function span(opts: {
  traceId: string;
  name?: string;
  parent?: string;
  startMs?: number;
  durationMs?: number;
  error?: boolean;
  attributes?: Record<string, string | number>;
  links?: string[];
}): ReadableSpan {
  const spanId = (++seq).toString(16).padStart(16, '0');
  const start = opts.startMs ?? 1_700_000_000_000;
  const dur = opts.durationMs ?? 1;
  const hr = (ms: number): [number, number] => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
  return {
    name: opts.name ?? 'op',
    kind: SpanKind.SERVER,
    spanContext: () => ({ traceId: opts.traceId, spanId, traceFlags: TraceFlags.SAMPLED }),
    parentSpanContext: opts.parent ? { traceId: opts.traceId, spanId: opts.parent, traceFlags: TraceFlags.SAMPLED } : undefined,
    startTime: hr(start),
    endTime: hr(start + dur),
    duration: hr(dur),
    status: { code: opts.error ? SpanStatusCode.ERROR : SpanStatusCode.UNSET },
    attributes: opts.attributes ?? {},
    links: (opts.links ?? []).map((t) => ({ context: { traceId: t, spanId: '0000000000000001', traceFlags: 1 } })),
    events: [],
    ended: true,
    resource: {} as ReadableSpan['resource'],
    instrumentationScope: { name: 'test' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

const tid = (n: number) => n.toString(16).padStart(32, '0');

describe('TraceBuffer', () => {
  it('keeps the most recent traces, each with its spans', () => {
    const b = new TraceBuffer({ maxRecent: 3, maxSlowest: 0 });
    for (let i = 1; i <= 5; i++) {
      const root = span({ traceId: tid(i), startMs: 1000 * i });
      b.onEnd(span({ traceId: tid(i), parent: root.spanContext().spanId, startMs: 1000 * i }));
      b.onEnd(root);
    }
    const snap = b.snapshot();
    expect(snap.recent.map((t) => t.traceId)).toEqual([tid(5), tid(4), tid(3)]);
    expect(snap.recent.every((t) => t.spanCount === 2 && t.complete)).toBe(true);
    expect(snap.spansSeen).toBe(10);
  });

  it('keeps the slowest traces beyond the recent window, late spans included', () => {
    const b = new TraceBuffer({ maxRecent: 2, maxSlowest: 2 });
    b.onEnd(span({ traceId: tid(1), durationMs: 500, startMs: 1000 }));
    b.onEnd(span({ traceId: tid(2), durationMs: 5, startMs: 2000 }));
    b.onEnd(span({ traceId: tid(3), durationMs: 900, startMs: 3000 }));
    b.onEnd(span({ traceId: tid(4), durationMs: 1, startMs: 4000 }));
    b.onEnd(span({ traceId: tid(5), durationMs: 2, startMs: 5000 }));
    b.onEnd(span({ traceId: tid(1), parent: 'ffffffffffffffff', name: 'late child' }));
    const snap = b.snapshot();
    expect(snap.slowest.map((t) => [t.traceId, t.durationMs])).toEqual([
      [tid(3), 900],
      [tid(1), 500],
    ]);
    expect(snap.slowest[1].spanCount).toBe(2);
    expect(snap.recent.map((t) => t.traceId)).toEqual([tid(5), tid(4)]);
  });

  it('bounds the spans kept per trace and counts the rest', () => {
    const b = new TraceBuffer({ maxSpansPerTrace: 3 });
    for (let i = 0; i < 10; i++) b.onEnd(span({ traceId: tid(1), parent: 'aaaaaaaaaaaaaaaa' }));
    const [t] = b.snapshot().recent;
    expect(t.spans).toHaveLength(3);
    expect(t.droppedSpans).toBe(7);
    expect(t.spanCount).toBe(10);
    expect(t.complete).toBe(false);
  });

  it('summarises root spans by name and latency bucket', () => {
    const b = new TraceBuffer();
    b.onEnd(span({ traceId: tid(1), name: 'GET /a', durationMs: 0.5 }));
    b.onEnd(span({ traceId: tid(2), name: 'GET /a', durationMs: 50, error: true }));
    b.onEnd(span({ traceId: tid(3), name: 'GET /a', durationMs: 5000 }));
    expect(b.snapshot().summary).toEqual([{ name: 'GET /a', count: 3, errors: 1, buckets: [1, 0, 1, 0, 1], maxMs: 5000 }]);
  });
});

describe('renderTracePage', () => {
  it('escapes everything that came from requests', () => {
    const b = new TraceBuffer();
    b.onEnd(span({ traceId: tid(1), name: '<img src=x onerror=alert(1)>', attributes: { 'url.path': '/"><script>alert(1)</script>' } }));
    const html = renderTracePage(b.snapshot(), { title: 'T <b>', facts: { env: '<i>' } });
    expect(html).not.toMatch(/<script>|<img|<i>|T <b>/);
    expect(html).toContain('<title>T &lt;b&gt;</title>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('links a flush to the requests it stored, and back', () => {
    const b = new TraceBuffer();
    b.onEnd(span({ traceId: tid(1), name: 'PUT /events/:domain/:type' }));
    b.onEnd(span({ traceId: tid(2), name: 'ingest.flush', links: [tid(1), tid(99)] }));
    const html = renderTracePage(b.snapshot(), { title: 'T', facts: {} });
    expect(html).toContain(`href="#t-${tid(1)}"`);
    expect(html).toContain(`href="#t-${tid(2)}"`);
    expect(html).toContain(`id="t-${tid(1)}"`);
    // A linked trace that is not in the buffer is named, not linked.
    expect(html).not.toContain(`href="#t-${tid(99)}"`);
    expect(html).toContain(tid(99).slice(0, 8));
  });
});
