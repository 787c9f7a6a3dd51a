// OpenTelemetry tracing for a Node service: one NodeSDK with a resource
// (service name, version, instance), the project's sampler (ratio, rate cap,
// sampled links), the in-process TraceBuffer when asked, and only the
// instrumentations named (pg, ioredis). Export and propagation are the SDK's
// own, read from the standard OTEL_* variables of `env` by the SDK's code
// (OTEL_TRACES_EXPORTER otlp/zipkin/console/none, OTEL_EXPORTER_OTLP_* with
// grpc, http/protobuf or http/json, OTEL_EXPORTER_ZIPKIN_ENDPOINT, OTEL_BSP_*,
// OTEL_PROPAGATORS): this file parses none of them. Start it before the modules
// it instruments are loaded. Export runs in the background: a collector that is
// down or slow costs dropped spans (the batch queue is bounded), never a request.
//
// asyncContext chooses the context manager: AsyncLocalStorage (the context
// follows awaits, so client spans nest under the request or job that made them)
// or SyncContextManager (no async hooks at all; see there for what that saves).
// The instrumentations need the former to find their parent.
import { context, diag, DiagLogger, DiagLogLevel, ROOT_CONTEXT, trace, Tracer } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
// The SDK's own reading of OTEL_TRACES_EXPORTER, the exporters' variables and
// OTEL_BSP_* (what NodeSDK does when given no processors, or a traceExporter);
// not re-exported by the package's index.
import { createBatchSpanProcessorFromEnv } from '@opentelemetry/sdk-node/build/src/create-from-env';
import { getSpanProcessorsFromEnv } from '@opentelemetry/sdk-node/build/src/utils';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { hostname } from 'node:os';
import { ReportingExporter } from './export-reporter';
import { withEnv } from './otel-env';
import { createSampling, SamplerName } from './sampler';
import { SyncContextManager } from './sync-context-manager';
import { TraceBuffer, TraceBufferOptions } from './trace-buffer';

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
  /**
   * The environment the SDK reads its OTEL_* variables from (exporters, their
   * endpoints, headers and timeouts, OTEL_BSP_*, OTEL_PROPAGATORS), in place of
   * process.env while the SDK is built.
   */
  env: Record<string, string | undefined>;
  /** Replaces the exporters OTEL_TRACES_EXPORTER names (tests pass an in-memory one). */
  exporter?: SpanExporter;
  /** Where an exporter sends, for the export-failure message (default: its class name). */
  exportTarget?: (exporter: SpanExporter) => string;
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
  const reporters: ReportingExporter[] = [];
  // Export health is said once per outage, not once per failed batch.
  const report = (exporter: SpanExporter): ReportingExporter => {
    const reporter = new ReportingExporter(exporter, opts.exportTarget?.(exporter) ?? exporter.constructor.name, (level, msg) => opts.log(level, msg));
    reporters.push(reporter);
    return reporter;
  };
  const diagLogger = rateLimited(opts.log, DIAG_REPEAT_MS, (m) => reporters.some((r) => r.isEcho(m)));
  // Before the SDK reads the environment, so that what it refuses (an unknown
  // exporter or propagator) is said in the service log. OTEL_LOG_LEVEL is this
  // logger's (diagLevel): the SDK, given it, would replace it with a console one.
  diag.setLogger(diagLogger, { logLevel: diagLevel(opts.diagLevel), suppressOverrideMessage: true });
  const sdk = withEnv({ ...opts.env, OTEL_LOG_LEVEL: undefined }, () => {
    // `none` asks for no export (the development default); the SDK would also
    // warn that it "will not be initialized", which is not so here.
    const none = process.env.OTEL_TRACES_EXPORTER?.trim() === 'none';
    const processors: SpanProcessor[] = opts.exporter
      ? [createBatchSpanProcessorFromEnv(report(opts.exporter))]
      : none
        ? []
        : getSpanProcessorsFromEnv(undefined);
    for (const p of processors) reportOn(p, report);
    if (buffer) processors.push(buffer);
    const built = new NodeSDK({
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
      // With no processor at all the SDK would build them again from OTEL_TRACES_EXPORTER.
      spanProcessors: processors.length > 0 ? processors : [new NoopProcessor()],
      instrumentations: opts.asyncContext ? createInstrumentations(opts.instrumentations) : [],
      // undefined: the SDK's default, AsyncLocalStorage.
      contextManager: opts.asyncContext ? undefined : new SyncContextManager(),
      // Traces only: without these the SDK starts OTLP metric and log exporters by default.
      metricReaders: [],
      logRecordProcessors: [],
    });
    // start() sets the propagator from OTEL_PROPAGATORS (W3C trace context and baggage when unset).
    built.start();
    return { sdk: built, processors };
  });

  const tracer = trace.getTracer(opts.serviceName, opts.serviceVersion);
  let stopped: Promise<void> | undefined;
  return {
    tracer,
    sampleNewTrace: sampling.sampleNewTrace,
    buffer,
    // A failed export is reported by ReportingExporter (once); flushing itself never fails.
    forceFlush: () => Promise.all(sdk.processors.map((p) => p.forceFlush().catch(() => undefined))).then(() => undefined),
    shutdown(timeoutMs: number) {
      stopped ??= sdk.sdk.shutdown().catch((err: unknown) => opts.log('warn', `tracing shutdown: ${errorText(err)}`));
      return withDeadline(stopped, timeoutMs);
    },
  };
}

/**
 * Puts the reporter between a processor the SDK built and its exporter. The
 * SDK offers no hook for export results; BatchSpanProcessor and
 * SimpleSpanProcessor keep their exporter in `_exporter` (sdk-trace 2.x), and
 * test/tracing-dead-collector.int-spec.ts fails should that change.
 */
function reportOn(processor: SpanProcessor, report: (exporter: SpanExporter) => SpanExporter): void {
  const holder = processor as unknown as { _exporter?: SpanExporter };
  if (holder._exporter && !(holder._exporter instanceof ReportingExporter)) holder._exporter = report(holder._exporter);
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
