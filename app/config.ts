// The service's configuration (DESIGN §6): every environment variable it reads,
// what each accepts and its default. Validated once at start.
import { bool, ConfigError, decimal, describeEnv, EnvValues, int, loadEnv, oneOf, optional, text, url } from '../foundation/config/env';
import { LOG_LEVELS, LogLevel } from '../foundation/logger/logger';
import { keyValueText } from '../foundation/tracing/otel-env';
import { SAMPLER_NAMES } from '../foundation/tracing/sampler';

export const CONFIG_SCHEMA = {
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
  CACHE_TTL_S: int({ min: 1, max: 30 * 24 * 3600, default: 3600 }),
  CACHE_TIMEOUT_MS: int({ min: 1, max: 10_000, default: 50 }),
  ACK_MODE: oneOf(['durable', 'buffered'] as const, 'durable'),
  ACK_TIMEOUT_MS: int({ min: 1, max: 600_000, default: 5_000 }),
  FLUSH_INTERVAL_MS: int({ min: 1, max: 60_000, default: 50 }),
  FLUSH_MAX_DOMAINS: int({ min: 1, max: 1_000_000, default: 10_000 }),
  FLUSH_CONCURRENCY: int({ min: 1, max: 64, default: 4 }),
  MAX_PENDING_EVENTS: int({ min: 1, max: 1_000_000_000, default: 1_000_000 }),
  MAX_BATCH_EVENTS: int({ min: 1, max: 1_000_000, default: 10_000 }),
  BODY_LIMIT_BYTES: int({ min: 1024, max: 256 * 1024 * 1024, default: 4 * 1024 * 1024 }),
  CATCHALL_THRESHOLD: int({ min: 0, max: Number.MAX_SAFE_INTEGER, default: 1000 }),
  // The change feed (docs/changes.md): days kept, and long-polls waiting at once on one node.
  CHANGES_RETENTION_DAYS: int({ min: 1, max: 36_500, default: 30 }),
  CHANGES_MAX_WAITERS: int({ min: 1, max: 100_000, default: 1_000 }),
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
  OTEL_TRACES_EXPORTER: optional(oneOf(['otlp', 'console', 'none'] as const)),
  OTEL_TRACES_SAMPLER: oneOf(SAMPLER_NAMES, 'parentbased_traceidratio'),
  OTEL_TRACES_SAMPLER_ARG: optional(decimal({ min: 0, max: 1 })),
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(url(['http:', 'https:'])),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(url(['http:', 'https:'])),
  OTEL_EXPORTER_OTLP_PROTOCOL: oneOf(['http/protobuf', 'http/json'] as const, 'http/protobuf'),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: optional(oneOf(['http/protobuf', 'http/json'] as const)),
  OTEL_EXPORTER_OTLP_HEADERS: optional(keyValueText({ secret: true })),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: optional(keyValueText({ secret: true })),
  OTEL_EXPORTER_OTLP_TIMEOUT: int({ min: 1, max: 600_000, default: 10_000 }),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: optional(int({ min: 1, max: 600_000 })),
  OTEL_BSP_SCHEDULE_DELAY: int({ min: 1, max: 600_000, default: 5_000 }),
  OTEL_BSP_EXPORT_TIMEOUT: int({ min: 1, max: 600_000, default: 30_000 }),
  OTEL_BSP_MAX_QUEUE_SIZE: int({ min: 1, max: 1_000_000, default: 2_048 }),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: int({ min: 1, max: 1_000_000, default: 512 }),
  OTEL_LOG_LEVEL: oneOf(['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'] as const, 'warn'),
};

export type AppConfig = EnvValues<typeof CONFIG_SCHEMA>;

/** Token for injecting the validated configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

export function loadAppConfig(env: Record<string, string | undefined>): AppConfig {
  const config = loadEnv(CONFIG_SCHEMA, env);
  // Each store call in flight holds a pooled connection (lookups use the rest).
  if (config.STORE === 'postgres' && config.FLUSH_CONCURRENCY > config.DATABASE_POOL_SIZE) {
    throw new ConfigError(
      `invalid configuration: FLUSH_CONCURRENCY=${config.FLUSH_CONCURRENCY} is more than DATABASE_POOL_SIZE=` +
        `${config.DATABASE_POOL_SIZE}: each flush in flight needs a connection of the pool`,
    );
  }
  return config;
}

export function describeConfig(config: AppConfig): Record<string, unknown> {
  return describeEnv(CONFIG_SCHEMA, config);
}
