// OpenTelemetry tracing for a Node service, set up from explicit, already
// validated options (the caller parses OTEL_* variables): one NodeSDK with a
// resource (service name, version, instance), a ratio sampler, batch export
// (OTLP over HTTP, console or none), the in-process TraceBuffer when asked, and
// only the instrumentations named (pg, ioredis). Start it before the modules it
// instruments are loaded. Export runs in the background: a collector that is
// down or slow costs dropped spans (the batch queue is bounded), never a request.
//
// asyncContext chooses the context manager: AsyncLocalStorage (the context
// follows awaits, so client spans nest under the request or job that made them)
// or SyncContextManager (no async hooks at all; see there for what that saves).
// The instrumentations need the former to find their parent.
import { context, diag, DiagLogger, DiagLogLevel, ROOT_CONTEXT, trace, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, ConsoleSpanExporter, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { hostname } from 'node:os';
import { ReportingExporter } from './export-reporter';
import { createSampling, SamplerName } from './sampler';
import { SyncContextManager } from './sync-context-manager';
import { TraceBuffer, TraceBufferOptions } from './trace-buffer';

export type TraceExporterName = 'otlp' | 'console' | 'none';
export type OtlpProtocol = 'http/protobuf' | 'http/json';
type InstrumentationName = 'pg' | 'ioredis';
type DiagLevel = 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'all';

export interface TracingOptions {
  serviceName: string;
  serviceVersion: string;
  instanceId: string;
  /** Extra resource attributes (OTEL_RESOURCE_ATTRIBUTES); the three above win over them. */
  resourceAttributes?: Record<string, string>;
  sampler: SamplerName;
  samplerRatio: number;
  /** Cap on new traces started per second (0: none). */
  samplerMaxPerSecond: number;
  /** A name, or an exporter instance (tests pass an in-memory one). */
  exporter: TraceExporterName | SpanExporter;
  otlp: {
    /** The full traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or the base endpoint + /v1/traces). */
    url: string;
    protocol: OtlpProtocol;
    headers: Record<string, string>;
    timeoutMs: number;
  };
  batch: { scheduleDelayMs: number; exportTimeoutMs: number; maxQueueSize: number; maxExportBatchSize: number };
  /** Keep traces in process for a trace page; false for none. */
  buffer: Partial<TraceBufferOptions> | false;
  instrumentations: readonly InstrumentationName[];
  /** Let the active context follow awaits (AsyncLocalStorage); required by the instrumentations. */
  asyncContext: boolean;
  /** Where the SDK's own warnings go (export failures); rate limited. */
  diagLevel: DiagLevel;
  log: (level: 'warn' | 'info' | 'debug', msg: string) => void;
}

export interface Tracing {
  readonly tracer: Tracer;
  /** The sampler's decision for a new trace, made before any span exists (see Sampling). */
  readonly sampleNewTrace: () => boolean;
  /** The in-process buffer, when the options asked for one. */
  readonly buffer: TraceBuffer | undefined;
  /** Exports what is queued (tests, shutdown); resolves whether or not the export succeeded. */
  forceFlush(): Promise<void>;
  /** Exports what is queued and stops; gives up after timeoutMs so a dead collector cannot hold up an exit. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** Messages from the SDK are repeated at most this often (an unreachable collector fails every batch). */
const DIAG_REPEAT_MS = 60_000;

export function startTracing(opts: TracingOptions): Tracing {
  const buffer = opts.buffer === false ? undefined : new TraceBuffer(opts.buffer);
  const sampling = createSampling(opts.sampler, opts.samplerRatio, opts.samplerMaxPerSecond);
  const processors: SpanProcessor[] = [];
  const created = createExporter(opts);
  // Export health is said once per outage, not once per failed batch.
  const target = typeof opts.exporter === 'string' && opts.exporter === 'otlp' ? opts.otlp.url : 'the exporter';
  const exporter = created && new ReportingExporter(created, target, (level, msg) => opts.log(level, msg));
  if (exporter) {
    processors.push(
      new BatchSpanProcessor(exporter, {
        scheduledDelayMillis: opts.batch.scheduleDelayMs,
        exportTimeoutMillis: opts.batch.exportTimeoutMs,
        maxQueueSize: opts.batch.maxQueueSize,
        maxExportBatchSize: Math.min(opts.batch.maxExportBatchSize, opts.batch.maxQueueSize),
      }),
    );
  }
  if (buffer) processors.push(buffer);

  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      'host.name': hostname(),
      'process.pid': process.pid,
      'process.runtime.name': 'nodejs',
      'process.runtime.version': process.versions.node,
      ...opts.resourceAttributes,
      [ATTR_SERVICE_NAME]: opts.serviceName,
      [ATTR_SERVICE_VERSION]: opts.serviceVersion,
      'service.instance.id': opts.instanceId,
    }),
    autoDetectResources: false,
    sampler: sampling.sampler,
    // With no processor at all the SDK would fall back to OTEL_TRACES_EXPORTER from process.env.
    spanProcessors: processors.length > 0 ? processors : [new NoopProcessor()],
    instrumentations: opts.asyncContext ? createInstrumentations(opts.instrumentations) : [],
    // undefined: the SDK's default, AsyncLocalStorage.
    contextManager: opts.asyncContext ? undefined : new SyncContextManager(),
    // Traces only: without these the SDK starts OTLP metric and log exporters by default.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  // After the SDK, which installs a console logger of its own when OTEL_LOG_LEVEL is set.
  diag.setLogger(rateLimited(opts.log, DIAG_REPEAT_MS, (m) => exporter?.isEcho(m) ?? false), { logLevel: diagLevel(opts.diagLevel), suppressOverrideMessage: true });

  const tracer = trace.getTracer(opts.serviceName, opts.serviceVersion);
  let stopped: Promise<void> | undefined;
  return {
    tracer,
    sampleNewTrace: sampling.sampleNewTrace,
    buffer,
    // A failed export is reported by ReportingExporter (once); flushing itself never fails.
    forceFlush: () => Promise.all(processors.map((p) => p.forceFlush().catch(() => undefined))).then(() => undefined),
    shutdown(timeoutMs: number) {
      stopped ??= sdk.shutdown().catch((err: unknown) => opts.log('warn', `tracing shutdown: ${errorText(err)}`));
      return withDeadline(stopped, timeoutMs);
    },
  };
}

function createExporter(opts: TracingOptions): SpanExporter | undefined {
  if (typeof opts.exporter === 'object') return opts.exporter;
  switch (opts.exporter) {
    case 'none':
      return undefined;
    case 'console':
      return new ConsoleSpanExporter();
    case 'otlp': {
      const config = { url: opts.otlp.url, headers: opts.otlp.headers, timeoutMillis: opts.otlp.timeoutMs };
      return opts.otlp.protocol === 'http/json' ? new OTLPJsonTraceExporter(config) : new OTLPProtoTraceExporter(config);
    }
  }
}

function createInstrumentations(names: readonly InstrumentationName[]): Instrumentation[] {
  return names.map((name) => {
    switch (name) {
      // requireParentSpan: a query outside a traced request or flush makes no span
      // (no orphan root traces from pool housekeeping or health probes).
      case 'pg':
        return new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true });
      case 'ioredis':
        return new IORedisInstrumentation({ requireParentSpan: true });
    }
  });
}

class NoopProcessor implements SpanProcessor {
  onStart(): void {}
  onEnd(): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function diagLevel(level: DiagLevel): DiagLogLevel {
  const levels: Record<DiagLevel, DiagLogLevel> = {
    none: DiagLogLevel.NONE,
    error: DiagLogLevel.ERROR,
    warn: DiagLogLevel.WARN,
    info: DiagLogLevel.INFO,
    debug: DiagLogLevel.DEBUG,
    verbose: DiagLogLevel.VERBOSE,
    all: DiagLogLevel.ALL,
  };
  return levels[level];
}

/**
 * A DiagLogger that writes each distinct message at most once per `repeatMs`,
 * outside any trace (an export runs in whatever context scheduled it, and its
 * failure is no request's). The SDK reports failed exports as errors; for the
 * service they are warnings: it carries on, only spans are lost.
 */
function rateLimited(log: TracingOptions['log'], repeatMs: number, isEcho: (message: string) => boolean): DiagLogger {
  const last = new Map<string, number>();
  const write = (level: 'warn' | 'info' | 'debug') => (message: string, ...args: unknown[]) => {
    const text = [readable(message), ...args.map(errorText)].join(' ').slice(0, 500);
    if (isEcho(text)) return;
    // Numbers vary between repeats of one message ("Dropped 12 spans").
    const key = text.slice(0, 80).replace(/\d+/g, '#');
    const now = Date.now();
    if ((last.get(key) ?? -Infinity) > now - repeatMs) return;
    if (last.size > 100) last.clear();
    last.set(key, now);
    const note = level === 'warn' ? ` (not repeated for ${Math.round(repeatMs / 1000)} s)` : '';
    context.with(ROOT_CONTEXT, () => log(level, `opentelemetry: ${text}${note}`));
  };
  return { error: write('warn'), warn: write('warn'), info: write('info'), debug: write('debug'), verbose: write('debug') };
}

/** The SDK's error handler passes errors as JSON; keep their message. */
function readable(message: string): string {
  if (!message.startsWith('{')) return message;
  try {
    const parsed = JSON.parse(message) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : message;
  } catch {
    return message;
  }
}

function errorText(v: unknown): string {
  if (v instanceof Error) return v.message;
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function withDeadline(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    void p.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
