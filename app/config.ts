// The service's configuration (DESIGN §6): every environment variable it reads,
// what each accepts and its default. Validated once at start.
import { readFileSync } from 'node:fs';
import { bool, ConfigError, decimal, describeEnv, EnvValues, EnvVar, int, loadEnv, oneOf, optional, text, url } from '../foundation/config/env';
import { ApiKey, apiKeysAccepts, describeApiKeys, parseApiKeys } from '../foundation/http/api-keys';
import { LOG_LEVELS, LogLevel } from '../foundation/logger/logger';
import { keyValueText } from '../foundation/tracing/otel-env';
import { SAMPLER_NAMES } from '../foundation/tracing/sampler';

/** What a key may do: `write` records events (and may read); `read` only reads. */
const SCOPES = ['write', 'read'] as const;
export type Scope = (typeof SCOPES)[number];

function apiKeys(): EnvVar<ApiKey<Scope>[]> {
  return {
    accepts: apiKeysAccepts(SCOPES),
    secret: true,
    parse: (raw) => parseApiKeys(raw, SCOPES),
    describe: describeApiKeys,
  };
}

/** Passed on as is; never shown in a log. */
function secretText(): EnvVar<string> {
  return { ...text({ accepts: 'a comma-separated list of key=value pairs' }), secret: true };
}

/** WEBHOOK_URLS: http(s) URLs, comma-separated; logged without passwords and query strings (they may hold tokens). */
function webhookUrls(): EnvVar<string[]> {
  return {
    accepts: 'http:// or https:// URLs, comma-separated',
    secret: true,
    parse(raw) {
      const urls = [...new Set(raw.split(',').map((u) => u.trim()).filter((u) => u !== ''))];
      if (urls.length === 0) return undefined;
      for (const u of urls) {
        try {
          if (!['http:', 'https:'].includes(new URL(u).protocol)) return undefined;
        } catch {
          return undefined;
        }
      }
      return urls;
    },
    describe: (urls) => urls.map(displayUrl),
  };
}

/** A URL fit for logs and answers: no password, no query string. */
export function displayUrl(raw: string): string {
  const u = new URL(raw);
  if (u.password) u.password = '***';
  const query = u.search ? '?…' : '';
  u.search = '';
  return `${u.toString()}${query}`;
}

/** WEBHOOK_SECRET: `whsec_` and the base64 of 24 to 64 random bytes (Standard Webhooks); never shown. */
function webhookSecret(): EnvVar<string> {
  return {
    accepts: 'whsec_ followed by the base64 of 24 to 64 random bytes (e.g. whsec_$(openssl rand -base64 32))',
    secret: true,
    parse(raw) {
      const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(raw.trim());
      if (!m || m[1].length % 4 !== 0) return undefined;
      const bytes = Buffer.from(m[1], 'base64').length;
      return bytes >= 24 && bytes <= 64 ? raw.trim() : undefined;
    },
  };
}

const CONFIG_SCHEMA = {
  PORT: int({ min: 0, max: 65535, default: 3000 }),
  HOST: text({ default: '0.0.0.0', accepts: 'an address to listen on, like 0.0.0.0 or 127.0.0.1' }),
  STORE: oneOf(['postgres', 'memory'] as const, 'postgres'),
  // Without DATABASE_URL, STORE=postgres runs an embedded PostgreSQL (data in .data/postgres).
  DATABASE_URL: optional(url(['postgres:', 'postgresql:'], { secret: true })),
  DATABASE_POOL_SIZE: int({ min: 1, max: 200, default: 10 }),
  MIGRATE_ON_START: bool(true),
  EMBEDDED_PG_PORT: int({ min: 1, max: 65535, default: 5433 }),
  EMBEDDED_PG_DIR: optional(text({ accepts: 'a directory for the embedded PostgreSQL data (default .data/postgres)' })),
  CACHE: oneOf(['none', 'redis'] as const, 'none'),
  REDIS_URL: url(['redis:', 'rediss:'], { default: 'redis://127.0.0.1:6379', secret: true }),
  // Set: CACHE=redis uses a Redis Cluster through these seed nodes, and REDIS_URL is not used.
  REDIS_CLUSTER_NODES: optional(
    text({ pattern: /^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, accepts: 'Redis Cluster nodes as host:port,host:port,…' }),
  ),
  CACHE_TTL_S: int({ min: 1, max: 30 * 24 * 3600, default: 3600 }),
  CACHE_TIMEOUT_MS: int({ min: 1, max: 10_000, default: 50 }),
  ACK_MODE: oneOf(['durable', 'buffered'] as const, 'durable'),
  ACK_TIMEOUT_MS: int({ min: 1, max: 600_000, default: 5_000 }),
  FLUSH_INTERVAL_MS: int({ min: 1, max: 60_000, default: 50 }),
  FLUSH_MAX_DOMAINS: int({ min: 1, max: 1_000_000, default: 10_000 }),
  FLUSH_CONCURRENCY: int({ min: 1, max: 64, default: 4 }),
  MAX_PENDING_EVENTS: int({ min: 1, max: 1_000_000_000, default: 1_000_000 }),
  MAX_BATCH_EVENTS: int({ min: 1, max: 1_000_000, default: 10_000 }),
  // Slow and idle clients (docs/reliability.md, "Edges"): the whole request
  // (headers and body) must arrive within HTTP_REQUEST_TIMEOUT_MS (else 408 and
  // the socket closes), its headers within HTTP_HEADERS_TIMEOUT_MS; an idle
  // keep-alive socket closes after HTTP_KEEP_ALIVE_TIMEOUT_MS (above a load
  // balancer's own idle timeout, as Fastify's 72 s default is), any socket
  // silent for HTTP_IDLE_TIMEOUT_MS closes; past HTTP_MAX_CONNECTIONS new
  // connections are closed at once.
  HTTP_REQUEST_TIMEOUT_MS: int({ min: 100, max: 3_600_000, default: 30_000 }),
  HTTP_HEADERS_TIMEOUT_MS: int({ min: 100, max: 3_600_000, default: 10_000 }),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int({ min: 100, max: 3_600_000, default: 72_000 }),
  HTTP_IDLE_TIMEOUT_MS: int({ min: 100, max: 3_600_000, default: 120_000 }),
  HTTP_MAX_CONNECTIONS: int({ min: 1, max: 1_000_000, default: 10_000 }),
  HTTP_MAX_REQUESTS_PER_SOCKET: optional(int({ min: 1, max: 1_000_000_000 })),
  // Authentication (app/auth): API_KEYS and/or API_KEYS_FILE hold
  // name:scope:secret entries. AUTH=none runs open on purpose (required to run
  // open with NODE_ENV=production). METRICS_PUBLIC opens /metrics and /debug/traces.
  API_KEYS: optional(apiKeys()),
  API_KEYS_FILE: optional(text({ accepts: 'the path of a file of name:scope:secret entries' })),
  AUTH: optional(oneOf(['keys', 'none'] as const)),
  METRICS_PUBLIC: bool(false),
  // Per-client rate limit in events per second (a batch of n events counts n),
  // per key name, or per client address when authentication is off.
  RATE_LIMIT_EVENTS_PER_S: optional(int({ min: 1, max: 1_000_000_000 })),
  RATE_LIMIT_BURST: optional(int({ min: 1, max: 1_000_000_000 })),
  BODY_LIMIT_BYTES: int({ min: 1024, max: 256 * 1024 * 1024, default: 4 * 1024 * 1024 }),
  // How long an Idempotency-Key of POST /events is remembered (docs/reliability.md).
  IDEMPOTENCY_TTL_S: int({ min: 1, max: 30 * 24 * 3600, default: 86_400 }),
  CATCHALL_THRESHOLD: int({ min: 0, max: Number.MAX_SAFE_INTEGER, default: 1000 }),
  // The change feed (docs/changes.md): days kept, and long-polls waiting at once on one node.
  CHANGES_RETENTION_DAYS: int({ min: 1, max: 36_500, default: 30 }),
  CHANGES_MAX_WAITERS: int({ min: 1, max: 100_000, default: 1_000 }),
  // Webhooks (docs/webhooks.md): every change POSTed to each URL, signed with
  // the secret; a delivery is parked after WEBHOOK_MAX_ATTEMPTS attempts, spaced
  // by a doubling delay from WEBHOOK_BACKOFF_MS up to WEBHOOK_BACKOFF_MAX_MS.
  // WEBHOOK_LEASE_MS: how soon another node takes over the endpoints of a node that died.
  WEBHOOK_URLS: optional(webhookUrls()),
  WEBHOOK_SECRET: optional(webhookSecret()),
  WEBHOOK_MAX_ATTEMPTS: int({ min: 1, max: 100, default: 8 }),
  WEBHOOK_BACKOFF_MS: int({ min: 1, max: 3_600_000, default: 1_000 }),
  WEBHOOK_BACKOFF_MAX_MS: int({ min: 1, max: 86_400_000, default: 300_000 }),
  WEBHOOK_TIMEOUT_MS: int({ min: 100, max: 300_000, default: 10_000 }),
  WEBHOOK_LEASE_MS: int({ min: 300, max: 3_600_000, default: 30_000 }),
  SHUTDOWN_TIMEOUT_MS: int({ min: 100, max: 600_000, default: 15_000 }),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info' as LogLevel),
  NODE_ENV: oneOf(['development', 'production', 'test'] as const, 'development'),
  // Tracing (docs/observability.md). Unset, the defaults depend on NODE_ENV: see
  // app/tracing/settings.ts (production: 1% sampled, OTLP export, no trace page).
  // TRACES_MAX_PER_SECOND caps new traces per second after the ratio (0: no cap).
  // TRACES_DETAIL=full adds database and cache spans, at a CPU cost (see the doc).
  TRACES_UI: optional(bool()),
  TRACES_MAX_PER_SECOND: optional(int({ min: 0, max: 1_000_000 })),
  TRACES_DETAIL: optional(oneOf(['basic', 'full'] as const)),
  OTEL_SDK_DISABLED: bool(false),
  OTEL_SERVICE_NAME: optional(text({ accepts: 'a service name' })),
  OTEL_RESOURCE_ATTRIBUTES: optional(keyValueText()),
  OTEL_TRACES_SAMPLER: oneOf(SAMPLER_NAMES, 'parentbased_traceidratio'),
  OTEL_TRACES_SAMPLER_ARG: optional(decimal({ min: 0, max: 1 })),
  // The exporters, their endpoints, protocols (grpc, http/protobuf, http/json),
  // timeouts, OTEL_BSP_* and OTEL_PROPAGATORS are read by the OpenTelemetry SDK
  // itself (app/tracing/setup.ts hands it the environment). These few are named
  // here only for the defaults that depend on NODE_ENV, the configuration log
  // line, and so that the headers (credentials) are masked in it.
  OTEL_TRACES_EXPORTER: optional(text({ accepts: 'exporter names, like otlp or zipkin,console' })),
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(text({ accepts: 'a URL' })),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(text({ accepts: 'a URL' })),
  OTEL_EXPORTER_OTLP_PROTOCOL: optional(text({ accepts: 'grpc, http/protobuf or http/json' })),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: optional(text({ accepts: 'grpc, http/protobuf or http/json' })),
  OTEL_EXPORTER_OTLP_HEADERS: optional(secretText()),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: optional(secretText()),
  OTEL_LOG_LEVEL: oneOf(['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'] as const, 'warn'),
};

export type AppConfig = EnvValues<typeof CONFIG_SCHEMA>;

/** Token for injecting the validated configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

export function loadAppConfig(env: Record<string, string | undefined>): AppConfig {
  const config = loadEnv(CONFIG_SCHEMA, env);
  config.API_KEYS = withKeysFile(config);
  checkAuth(config);
  checkHttp(config);
  checkWebhooks(config);
  // Each store call in flight holds a pooled connection (lookups use the rest).
  if (config.STORE === 'postgres' && config.FLUSH_CONCURRENCY > config.DATABASE_POOL_SIZE) {
    throw new ConfigError(
      `invalid configuration: FLUSH_CONCURRENCY=${config.FLUSH_CONCURRENCY} is more than DATABASE_POOL_SIZE=` +
        `${config.DATABASE_POOL_SIZE}: each flush in flight needs a connection of the pool`,
    );
  }
  return config;
}

/** Keys from API_KEYS_FILE (an orchestrator's mounted secret) join those of API_KEYS. */
function withKeysFile(config: AppConfig): ApiKey<Scope>[] | undefined {
  const path = config.API_KEYS_FILE;
  if (!path) return config.API_KEYS;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`invalid configuration: API_KEYS_FILE=${JSON.stringify(path)} cannot be read (${code})`);
  }
  const fromFile = parseApiKeys(text, SCOPES);
  if (!fromFile) {
    throw new ConfigError(`invalid configuration: API_KEYS_FILE=${JSON.stringify(path)} holds no valid keys, expected ${apiKeysAccepts(SCOPES)}`);
  }
  const all = [...(config.API_KEYS ?? []), ...fromFile];
  if (new Set(all.map((k) => k.name)).size < all.length || new Set(all.map((k) => k.secret)).size < all.length) {
    throw new ConfigError('invalid configuration: API_KEYS and API_KEYS_FILE repeat a key name or secret');
  }
  return all;
}

/** Secure by default: production without keys must say AUTH=none on purpose. */
function checkAuth(config: AppConfig): void {
  const keys = config.API_KEYS?.length ?? 0;
  if (config.AUTH === 'none' && keys > 0) {
    throw new ConfigError('invalid configuration: AUTH=none but API_KEYS (or API_KEYS_FILE) is set: choose one');
  }
  if (config.AUTH === 'keys' && keys === 0) {
    throw new ConfigError('invalid configuration: AUTH=keys needs API_KEYS or API_KEYS_FILE (name:write:<secret>,…)');
  }
  if (config.NODE_ENV === 'production' && keys === 0 && config.AUTH !== 'none') {
    throw new ConfigError(
      'invalid configuration: NODE_ENV=production needs API_KEYS or API_KEYS_FILE (name:write:<secret>,…), ' +
        'or AUTH=none to run without authentication on purpose',
    );
  }
}

function checkHttp(config: AppConfig): void {
  // Node refuses a headers timeout longer than the request timeout.
  if (config.HTTP_HEADERS_TIMEOUT_MS > config.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError(
      `invalid configuration: HTTP_HEADERS_TIMEOUT_MS=${config.HTTP_HEADERS_TIMEOUT_MS} is more than ` +
        `HTTP_REQUEST_TIMEOUT_MS=${config.HTTP_REQUEST_TIMEOUT_MS}: headers are part of the request`,
    );
  }
  if (config.RATE_LIMIT_BURST !== undefined && config.RATE_LIMIT_EVENTS_PER_S === undefined) {
    throw new ConfigError('invalid configuration: RATE_LIMIT_BURST is set without RATE_LIMIT_EVENTS_PER_S');
  }
}

function checkWebhooks(config: AppConfig): void {
  if (config.WEBHOOK_URLS && !config.WEBHOOK_SECRET) {
    throw new ConfigError(
      'invalid configuration: WEBHOOK_URLS is set without WEBHOOK_SECRET: webhooks are signed, set WEBHOOK_SECRET=whsec_<base64 of 24 to 64 random bytes>',
    );
  }
  if (config.WEBHOOK_BACKOFF_MS > config.WEBHOOK_BACKOFF_MAX_MS) {
    throw new ConfigError(
      `invalid configuration: WEBHOOK_BACKOFF_MS=${config.WEBHOOK_BACKOFF_MS} is more than WEBHOOK_BACKOFF_MAX_MS=${config.WEBHOOK_BACKOFF_MAX_MS}`,
    );
  }
  // The lease is renewed every third of it, and an attempt may take the whole timeout in between.
  if (config.WEBHOOK_TIMEOUT_MS * 2 > config.WEBHOOK_LEASE_MS) {
    throw new ConfigError(
      `invalid configuration: WEBHOOK_LEASE_MS=${config.WEBHOOK_LEASE_MS} must be at least twice WEBHOOK_TIMEOUT_MS=${config.WEBHOOK_TIMEOUT_MS}: ` +
        'a node holds an endpoint for that long while it waits for an answer',
    );
  }
}

/** Whether requests need a key (API_KEYS set); otherwise the service runs open. */
export function authEnabled(config: AppConfig): boolean {
  return (config.API_KEYS?.length ?? 0) > 0;
}

export function describeConfig(config: AppConfig): Record<string, unknown> {
  return describeEnv(CONFIG_SCHEMA, config);
}
