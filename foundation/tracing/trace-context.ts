// Small helpers over trace contexts: the context of a sampled span (to link a
// later batch job to it) and the fields that tie a log line to a trace.
import { isSpanContextValid, Span, SpanContext, trace, TraceFlags } from '@opentelemetry/api';

/** `{trace_id, span_id, trace_flags}`, or `{}` outside a trace. */
export type TraceLogFields = Record<string, string>;

/** trace_id, span_id and trace_flags (OpenTelemetry's log field names) of a span context. */
export function logFieldsOf(sc: SpanContext | undefined): TraceLogFields {
  if (sc === undefined || !isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: sc.traceFlags.toString(16).padStart(2, '0') };
}

/** The log fields of the active span (a pino mixin); none when the line already has them. */
export function activeTraceLogFields(line?: object): TraceLogFields {
  if (line !== undefined && 'trace_id' in line) return {};
  return logFieldsOf(trace.getActiveSpan()?.spanContext());
}

/** The context of a span when it is sampled, else undefined. */
export function sampledSpanContext(span: Span | undefined): SpanContext | undefined {
  if (span === undefined) return undefined;
  const sc = span.spanContext();
  return (sc.traceFlags & TraceFlags.SAMPLED) !== 0 ? sc : undefined;
}
