// The tracing settings in effect: the OTEL_* variables of app/config.ts with the
// defaults that depend on NODE_ENV filled in. Export itself (which exporters,
// where, how) is the OpenTelemetry SDK's reading of the standard variables; the
// service only chooses `none` for development when nothing says otherwise.
//
//                       development / test                 production
//   sampler ratio       1 (every root trace)               0.01
//   traces per second   at most 100 (TRACES_MAX_PER_SECOND) no cap
//   detail              basic                              basic
//   exporter            none, or otlp when an OTLP         otlp (http://localhost:4318
//                       endpoint variable is set             unless configured)
//   trace page          on (/debug/traces)                 off unless TRACES_UI=true
//
// TRACES_DETAIL: `basic` traces requests and flushes (with the links between
// them); `full` adds the database and cache calls (pg, ioredis) nested under
// them, which needs the active context to follow awaits (AsyncLocalStorage).
// On Node 20 that makes every promise of the process pay a hook call, sampled
// or not: 20-40% less throughput here (docs/benchmarks.md), against 5-10% for
// `basic`. So `full` is asked for, never the default.
//
// The trace page shows what the sampler keeps, like any exporter: in production
// with TRACES_UI=true it sees 1% of the traffic (raise OTEL_TRACES_SAMPLER_ARG on
// one instance to see more). A flush that carries a sampled request is always
// sampled, so the links from the request to its flush are never dangling.
import type { SamplerName } from '../../foundation/tracing/sampler';
import { otlpTracesUrl } from '../../foundation/tracing/otel-env';
import { AppConfig } from '../config';

const PRODUCTION_SAMPLER_RATIO = 0.01;
const DEVELOPMENT_SAMPLER_RATIO = 1;
/** Development traces every request made by hand, but not every request of a load test. */
const DEVELOPMENT_MAX_PER_SECOND = 100;

type TraceDetail = 'basic' | 'full';

export interface TracingSettings {
  enabled: boolean;
  sampler: SamplerName;
  ratio: number;
  maxPerSecond: number;
  detail: TraceDetail;
  /** OTEL_TRACES_EXPORTER as the SDK will read it (`otlp`, `zipkin,console`, `none`…). */
  exporter: string;
  /** Where OTLP goes, for the log line (the SDK computes it the same way). */
  otlpUrl: string;
  otlpProtocol: string;
  ui: boolean;
}

export function tracingSettings(config: AppConfig): TracingSettings {
  const production = config.NODE_ENV === 'production';
  const endpointSet = !!(config.OTEL_EXPORTER_OTLP_ENDPOINT || config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const protocol = config.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? config.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  return {
    enabled: !config.OTEL_SDK_DISABLED,
    sampler: config.OTEL_TRACES_SAMPLER,
    ratio: config.OTEL_TRACES_SAMPLER_ARG ?? (production ? PRODUCTION_SAMPLER_RATIO : DEVELOPMENT_SAMPLER_RATIO),
    maxPerSecond: config.TRACES_MAX_PER_SECOND ?? (production ? 0 : DEVELOPMENT_MAX_PER_SECOND),
    detail: config.TRACES_DETAIL ?? 'basic',
    exporter: config.OTEL_TRACES_EXPORTER ?? (production || endpointSet ? 'otlp' : 'none'),
    otlpUrl: otlpTracesUrl(protocol, config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, config.OTEL_EXPORTER_OTLP_ENDPOINT),
    otlpProtocol: protocol,
    ui: !config.OTEL_SDK_DISABLED && (config.TRACES_UI ?? !production),
  };
}

/** The settings in effect, for the configuration log line. */
export function describeTracing(s: TracingSettings): Record<string, unknown> {
  if (!s.enabled) return { enabled: false };
  return {
    sampler: s.sampler,
    ratio: s.ratio,
    maxPerSecond: s.maxPerSecond || 'no cap',
    detail: s.detail,
    exporter: s.exporter,
    ...(exportsOtlp(s) ? { otlpUrl: s.otlpUrl, otlpProtocol: s.otlpProtocol } : {}),
    tracePage: s.ui ? '/debug/traces' : 'off',
  };
}

/** Whether OTEL_TRACES_EXPORTER names otlp (alone or in a list). */
function exportsOtlp(s: TracingSettings): boolean {
  return s.exporter.split(',').some((name) => name.trim() === 'otlp');
}

/**
 * The OTEL_* environment handed to the SDK: the service's own, plus the
 * development default (no export unless an exporter or an endpoint is named).
 */
export function sdkEnv(s: TracingSettings, env: Record<string, string | undefined>): Record<string, string | undefined> {
  return env.OTEL_TRACES_EXPORTER?.trim() ? env : { ...env, OTEL_TRACES_EXPORTER: s.exporter };
}
