// Parsing rules of the standard OTEL_* variables that are not plain numbers or
// names: comma-separated key=value lists (resource attributes, exporter
// headers) and the OTLP/HTTP traces URL derived from the endpoint variables.
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

/**
 * The traces URL per the OTLP exporter spec: the signal-specific variable is
 * used as is; the base endpoint gets `v1/traces` appended.
 */
export function otlpTracesUrl(tracesEndpoint: string | undefined, endpoint: string | undefined): string {
  if (tracesEndpoint) return tracesEndpoint;
  const base = endpoint ?? DEFAULT_OTLP_HTTP_ENDPOINT;
  return `${base.endsWith('/') ? base : `${base}/`}v1/traces`;
}
