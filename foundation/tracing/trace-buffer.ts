// The in-process trace buffer behind the built-in trace page (zPages style): a
// SpanProcessor that keeps the most recent traces and the slowest ones, each
// with its spans, plus a per-name latency summary. Everything is bounded (traces,
// spans per trace, attributes, names), so a busy process cannot grow it. It sees
// what the sampler sampled, like any exporter.
import { HrTime, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface TraceBufferOptions {
  /** Most recent traces kept (by the time their first span ended). */
  maxRecent: number;
  /** Slowest traces kept (by the duration of their local root span). */
  maxSlowest: number;
  /** Spans kept per trace; later ones are counted as dropped. */
  maxSpansPerTrace: number;
}

const DEFAULT_TRACE_BUFFER_OPTIONS: TraceBufferOptions = { maxRecent: 50, maxSlowest: 20, maxSpansPerTrace: 200 };

/** Latency buckets of the summary table, in milliseconds (upper bounds; the last is open). */
export const SUMMARY_BUCKETS_MS = [1, 10, 100, 1000] as const;

const MAX_ATTRIBUTES = 32;
const MAX_VALUE_CHARS = 256;
const MAX_NAMES = 100;

export interface SpanView {
  spanId: string;
  parentSpanId?: string;
  /** True when the parent lives in another process (propagated by a header). */
  remoteParent?: boolean;
  name: string;
  kind: string;
  /** Epoch milliseconds. */
  startTime: number;
  durationMs: number;
  status: 'unset' | 'ok' | 'error';
  statusMessage?: string;
  attributes: Record<string, string | number | boolean>;
  links: Array<{ traceId: string; spanId: string }>;
  droppedLinks?: number;
  events: Array<{ name: string; offsetMs: number; attributes?: Record<string, string | number | boolean> }>;
  scope: string;
}

export interface TraceView {
  traceId: string;
  /** Name of the local root span, or of the first span seen while the root is still open. */
  name: string;
  startTime: number;
  durationMs: number;
  spanCount: number;
  droppedSpans: number;
  error: boolean;
  complete: boolean;
  spans: SpanView[];
}

export interface NameSummary {
  name: string;
  count: number;
  errors: number;
  /** Counts per SUMMARY_BUCKETS_MS bucket, plus one for slower spans. */
  buckets: number[];
  maxMs: number;
}

export interface TraceBufferSnapshot {
  recent: TraceView[];
  slowest: TraceView[];
  summary: NameSummary[];
  limits: TraceBufferOptions;
  spansSeen: number;
}

interface Entry {
  traceId: string;
  spans: SpanView[];
  dropped: number;
  root?: SpanView;
}

export class TraceBuffer implements SpanProcessor {
  readonly options: TraceBufferOptions;
  /** Insertion order is the order traces were first seen: the oldest is evicted first. */
  private readonly recent = new Map<string, Entry>();
  /** Sorted slowest first. Entries are shared with `recent`, so late spans show in both. */
  private slowest: Entry[] = [];
  private readonly summary = new Map<string, NameSummary>();
  private spansSeen = 0;

  constructor(options: Partial<TraceBufferOptions> = {}) {
    this.options = { ...DEFAULT_TRACE_BUFFER_OPTIONS, ...options };
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    this.spansSeen++;
    const traceId = span.spanContext().traceId;
    const entry = this.entryFor(traceId);
    if (entry.spans.length >= this.options.maxSpansPerTrace) {
      entry.dropped++;
      return;
    }
    const view = toView(span);
    entry.spans.push(view);
    if (view.parentSpanId === undefined || view.remoteParent) {
      entry.root = view;
      this.summarise(view);
      this.rankBySlowness(entry);
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  snapshot(): TraceBufferSnapshot {
    const recent = [...this.recent.values()].map(toTraceView).sort((a, b) => b.startTime - a.startTime);
    return {
      recent,
      slowest: this.slowest.map(toTraceView),
      summary: [...this.summary.values()].map((s) => ({ ...s, buckets: [...s.buckets] })).sort((a, b) => a.name.localeCompare(b.name)),
      limits: { ...this.options },
      spansSeen: this.spansSeen,
    };
  }

  clear(): void {
    this.recent.clear();
    this.slowest = [];
    this.summary.clear();
    this.spansSeen = 0;
  }

  private entryFor(traceId: string): Entry {
    const found = this.recent.get(traceId) ?? this.slowest.find((e) => e.traceId === traceId);
    if (found) return found;
    const entry: Entry = { traceId, spans: [], dropped: 0 };
    this.recent.set(traceId, entry);
    if (this.recent.size > this.options.maxRecent) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    return entry;
  }

  private rankBySlowness(entry: Entry): void {
    const duration = entry.root?.durationMs ?? 0;
    const max = this.options.maxSlowest;
    if (max === 0 || this.slowest.includes(entry)) return;
    if (this.slowest.length >= max && duration <= (this.slowest[max - 1].root?.durationMs ?? 0)) return;
    let i = this.slowest.findIndex((e) => (e.root?.durationMs ?? 0) < duration);
    if (i === -1) i = this.slowest.length;
    this.slowest.splice(i, 0, entry);
    if (this.slowest.length > max) this.slowest.length = max;
  }

  private summarise(root: SpanView): void {
    let s = this.summary.get(root.name);
    if (!s) {
      if (this.summary.size >= MAX_NAMES) return;
      s = { name: root.name, count: 0, errors: 0, buckets: new Array<number>(SUMMARY_BUCKETS_MS.length + 1).fill(0), maxMs: 0 };
      this.summary.set(root.name, s);
    }
    s.count++;
    if (root.status === 'error') s.errors++;
    let b = SUMMARY_BUCKETS_MS.findIndex((limit) => root.durationMs < limit);
    if (b === -1) b = SUMMARY_BUCKETS_MS.length;
    s.buckets[b]++;
    s.maxMs = Math.max(s.maxMs, root.durationMs);
  }
}

function toTraceView(e: Entry): TraceView {
  const spans = [...e.spans].sort((a, b) => a.startTime - b.startTime);
  const first = spans[0];
  const start = spans.reduce((m, s) => Math.min(m, s.startTime), first?.startTime ?? 0);
  const end = spans.reduce((m, s) => Math.max(m, s.startTime + s.durationMs), start);
  return {
    traceId: e.traceId,
    name: e.root?.name ?? first?.name ?? '',
    startTime: start,
    durationMs: e.root ? e.root.durationMs : end - start,
    spanCount: spans.length + e.dropped,
    droppedSpans: e.dropped,
    error: spans.some((s) => s.status === 'error'),
    complete: e.root !== undefined,
    spans,
  };
}

function toView(span: ReadableSpan): SpanView {
  const parent = span.parentSpanContext;
  const view: SpanView = {
    spanId: span.spanContext().spanId,
    name: span.name,
    kind: SpanKind[span.kind] ?? String(span.kind),
    startTime: hrToMs(span.startTime),
    durationMs: hrToMs(span.duration),
    status: span.status.code === SpanStatusCode.ERROR ? 'error' : span.status.code === SpanStatusCode.OK ? 'ok' : 'unset',
    attributes: copyAttributes(span.attributes),
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
    events: span.events.slice(0, 10).map((ev) => ({
      name: ev.name,
      offsetMs: hrToMs(ev.time) - hrToMs(span.startTime),
      attributes: ev.attributes ? copyAttributes(ev.attributes) : undefined,
    })),
    scope: span.instrumentationScope.name,
  };
  if (parent) {
    view.parentSpanId = parent.spanId;
    if (parent.isRemote) view.remoteParent = true;
  }
  if (span.status.message) view.statusMessage = clip(span.status.message);
  if (span.droppedLinksCount > 0) view.droppedLinks = span.droppedLinksCount;
  return view;
}

function copyAttributes(attrs: Record<string, unknown>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  let n = 0;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || n++ >= MAX_ATTRIBUTES) continue;
    out[k] = typeof v === 'number' || typeof v === 'boolean' ? v : clip(Array.isArray(v) ? v.join(',') : String(v));
  }
  return out;
}

function clip(s: string): string {
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS)}…` : s;
}

function hrToMs(t: HrTime): number {
  return t[0] * 1e3 + t[1] / 1e6;
}
