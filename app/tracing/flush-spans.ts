// One span per flush, linked to the sampled requests whose events it stored:
// a root span ("ingest.flush") with the flush's size and commit time. The
// business core knows nothing of it: it calls the observer's aroundFlush hook
// synchronously as a flush takes the pending map, and controllers report each
// sampled request right after they hand its events to the ingest service, in
// the same turn. So the span contexts gathered since the last flush started are
// exactly the requests whose events this flush took (held domains aside, see
// business/services/read-fence.ts), at most MAX_LINKS of them. A failed flush
// hands its links to the next one, which stores its events. The store writes
// run in the flush span's context, so with TRACES_DETAIL=full database and
// cache spans nest under it, not under whichever request scheduled the flush.
import { Context, context, Link, ROOT_CONTEXT, Span, SpanContext, SpanKind, SpanStatusCode, trace, Tracer } from '@opentelemetry/api';
import { FlushResult, FlushStart } from '../../business/ports';
import { PRE_SAMPLED } from '../../foundation/tracing/sampler';
import { logFieldsOf } from '../../foundation/tracing/trace-context';

export const FLUSH_SPAN_NAME = 'ingest.flush';

/** Most requests one flush span links to; the rest are not linked. */
export const MAX_LINKS = 128;

/** Where a controller reports the sampled request whose events it just recorded. */
export abstract class RequestLinks {
  abstract add(request: SpanContext | undefined): void;
}

/** Tracing off: nothing to link. */
export class NoRequestLinks extends RequestLinks {
  add(): void {}
}

export class FlushSpans extends RequestLinks {
  private links: SpanContext[] = [];

  constructor(
    private readonly tracer: Tracer,
    /** The sampler's fast decision for a new trace (Sampling.sampleNewTrace). */
    private readonly sampleNewTrace: () => boolean,
  ) {
    super();
  }

  add(request: SpanContext | undefined): void {
    if (request !== undefined && this.links.length < MAX_LINKS) this.links.push(request);
  }

  /** A flush took the pending map: it takes the requests gathered since the last one. */
  start(start: FlushStart): FlushTrace {
    const requests = this.links;
    this.links = [];
    // Flushes run back to back: one that stores no sampled request is decided
    // up front, like a request, and then costs no span at all.
    if (requests.length === 0 && !this.sampleNewTrace()) return new FlushTrace(this, requests);
    const links: Link[] = requests.map((sc) => ({ context: sc }));
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
    return new FlushTrace(this, requests, span.isRecording() ? span : undefined);
  }

  /** A failed flush's requests are linked by the flush that retries its events. */
  relink(requests: readonly SpanContext[]): void {
    for (const sc of requests) this.add(sc);
  }
}

/** The trace side of one flush. */
export class FlushTrace {
  private readonly context: Context;

  constructor(
    private readonly spans: FlushSpans,
    private readonly requests: readonly SpanContext[],
    private readonly span?: Span,
  ) {
    this.context = span ? trace.setSpan(ROOT_CONTEXT, span) : ROOT_CONTEXT;
  }

  /** Runs the flush's store writes in the flush span's context. */
  run<T>(write: () => T): T {
    return context.with(this.context, write);
  }

  /** trace_id/span_id of a traced flush, for its log lines. */
  logFields(): Record<string, string> {
    return this.span ? logFieldsOf(this.span.spanContext()) : {};
  }

  end(result: FlushResult): void {
    if (!result.ok) this.spans.relink(this.requests);
    const span = this.span;
    if (span === undefined) return;
    span.setAttributes({ 'catchall.flush.commit_ms': result.report.durationMs, 'catchall.flush.result': result.ok ? 'ok' : 'error' });
    if (!result.ok) {
      span.setAttribute('catchall.flush.retry_in_ms', result.retryInMs);
      if (result.error instanceof Error) span.recordException(result.error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: result.error instanceof Error ? result.error.message : String(result.error) });
    }
    span.end();
  }
}
