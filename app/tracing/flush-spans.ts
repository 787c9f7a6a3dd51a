// One span per flush, from the ingest service's opaque observer hooks: a root
// span ("ingest.flush") with the flush's size and commit time, linked to the
// sampled requests whose events it stored (the core caps them at
// maxTracesPerFlush, 128). The store writes of the flush run inside that span,
// so database and cache spans nest under it, not under whichever request
// happened to schedule the flush.
import { Context, context, Link, ROOT_CONTEXT, Span, SpanKind, SpanStatusCode, trace, Tracer } from '@opentelemetry/api';
import { DomainCounts } from '../../business/models';
import { ApplyOptions, CountDeltas, CounterStore, FlushReport, FlushStart } from '../../business/ports';
import { PRE_SAMPLED } from '../../foundation/tracing/sampler';
import { isSpanContext, logFieldsOf } from '../../foundation/tracing/trace-context';

export const FLUSH_SPAN_NAME = 'ingest.flush';

/** What flushStarted returns and the ingest service hands back. */
class FlushTrace {
  constructor(
    readonly span: Span,
    readonly context: Context,
  ) {}
}

export class FlushSpans {
  /** The flush in progress: flushes never overlap (the ingest service runs one at a time). */
  private current: Context = ROOT_CONTEXT;

  constructor(
    private readonly tracer: Tracer,
    /** The sampler's fast decision for a new trace (Sampling.sampleNewTrace). */
    private readonly sampleNewTrace: () => boolean,
  ) {}

  started(start: FlushStart): FlushTrace | undefined {
    const links: Link[] = [];
    for (const t of start.traces) if (isSpanContext(t)) links.push({ context: t });
    // Flushes run back to back: one that stores no sampled request is decided
    // up front, like a request, and then costs no span at all.
    if (links.length === 0 && !this.sampleNewTrace()) {
      this.current = ROOT_CONTEXT;
      return undefined;
    }
    const span = this.tracer.startSpan(
      FLUSH_SPAN_NAME,
      {
        root: true,
        kind: SpanKind.INTERNAL,
        links,
        attributes: {
          'catchall.flush.domains': start.domains,
          'catchall.flush.events': start.events,
          'catchall.flush.chunks': start.chunks,
          'catchall.flush.linked_requests': links.length,
        },
      },
      // Linked to a sampled request: the sampler samples it; otherwise it was just decided.
      links.length > 0 ? ROOT_CONTEXT : PRE_SAMPLED,
    );
    if (!span.isRecording()) {
      this.current = ROOT_CONTEXT;
      return undefined;
    }
    this.current = trace.setSpan(ROOT_CONTEXT, span);
    return new FlushTrace(span, this.current);
  }

  succeeded(report: FlushReport, token: unknown): void {
    this.current = ROOT_CONTEXT;
    if (!(token instanceof FlushTrace)) return;
    token.span.setAttributes({ 'catchall.flush.commit_ms': report.durationMs, 'catchall.flush.result': 'ok' });
    token.span.end();
  }

  failed(report: FlushReport, error: unknown, retryInMs: number, token: unknown): void {
    this.current = ROOT_CONTEXT;
    if (!(token instanceof FlushTrace)) return;
    const span = token.span;
    span.setAttributes({
      'catchall.flush.commit_ms': report.durationMs,
      'catchall.flush.result': 'error',
      'catchall.flush.retry_in_ms': retryInMs,
    });
    if (error instanceof Error) span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    span.end();
  }

  /** trace_id/span_id of a flush that is traced, for its log lines. */
  logFields(token: unknown): Record<string, string> {
    return token instanceof FlushTrace ? logFieldsOf(token.span.spanContext()) : {};
  }

  /** The store as the ingest service should see it: each write runs in its flush's trace context. */
  wrap(store: CounterStore): CounterStore {
    return new FlushContextStore(store, () => this.current);
  }
}

class FlushContextStore extends CounterStore {
  constructor(
    private readonly inner: CounterStore,
    private readonly flushContext: () => Context,
  ) {
    super();
  }

  get kind(): string {
    return this.inner.kind;
  }

  apply(deltas: CountDeltas, options?: ApplyOptions): Promise<DomainCounts[]> {
    return context.with(this.flushContext(), () => this.inner.apply(deltas, options));
  }

  read(names: readonly string[]) {
    return this.inner.read(names);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
