// The standard OTEL_* variables: handing them to the SDK (withEnv), and the
// parsing the service still does itself: comma-separated key=value lists
// (resource attributes) and the OTLP/HTTP traces URL named in logs.
import type { EnvVar } from '../config/env';

const KEY = /^[\w.\-/:]+$/;

/** Parses `k1=v1,k2=v2` (values may be percent-encoded); undefined when malformed. */
export function parseKeyValueList(raw: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const key = part.slice(0, eq).trim();
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
    if (!KEY.test(key)) return undefined;
    out[key] = value;
  }
  return out;
}

/**
 * A `k=v,…` list kept as its text (so a secret one is masked like any other
 * secret when the configuration is logged); parse it with parseKeyValueList.
 */
export function keyValueText(opts: { secret?: boolean } = {}): EnvVar<string> {
  return {
    accepts: 'a comma-separated list of key=value pairs',
    secret: opts.secret,
    parse(raw) {
      return parseKeyValueList(raw) ? raw.trim() : undefined;
    },
  };
}

const DEFAULT_OTLP_HTTP_ENDPOINT = 'http://localhost:4318';
const DEFAULT_OTLP_GRPC_ENDPOINT = 'http://localhost:4317';

/**
 * The traces URL per the OTLP exporter spec: the signal-specific variable is
 * used as is; over HTTP the base endpoint gets `v1/traces` appended, over gRPC
 * it is used as is.
 */
export function otlpTracesUrl(protocol: string, tracesEndpoint: string | undefined, endpoint: string | undefined): string {
  if (tracesEndpoint) return tracesEndpoint;
  if (protocol === 'grpc') return endpoint ?? DEFAULT_OTLP_GRPC_ENDPOINT;
  const base = endpoint ?? DEFAULT_OTLP_HTTP_ENDPOINT;
  return `${base.endsWith('/') ? base : `${base}/`}v1/traces`;
}

/**
 * Runs `build` with the OTEL_* variables of process.env replaced by those of
 * `env`, then puts process.env back. The SDK and its exporters read their
 * settings from process.env while they are constructed; the service hands them
 * the environment it was started with (tests pass their own).
 */
export function withEnv<T>(env: Record<string, string | undefined>, build: () => T): T {
  const saved: Record<string, string | undefined> = {};
  const names = new Set([...Object.keys(process.env), ...Object.keys(env)].filter((k) => k.startsWith('OTEL_')));
  for (const name of names) {
    saved[name] = process.env[name];
    set(name, env[name]);
  }
  try {
    return build();
  } finally {
    for (const name of names) set(name, saved[name]);
  }
}

function set(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
