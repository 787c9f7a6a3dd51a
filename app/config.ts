// The service's configuration (DESIGN §6): every environment variable it reads,
// what each accepts and its default. Validated once at start.
import { bool, describeEnv, EnvValues, int, loadEnv, oneOf, optional, text, url } from '../foundation/config/env';
import { LOG_LEVELS, LogLevel } from '../foundation/logger/logger';

export const CONFIG_SCHEMA = {
  PORT: int({ min: 0, max: 65535, default: 3000 }),
  HOST: text({ default: '0.0.0.0', accepts: 'an address to listen on, like 0.0.0.0 or 127.0.0.1' }),
  STORE: oneOf(['postgres', 'memory'] as const, 'memory'),
  DATABASE_URL: optional(url(['postgres:', 'postgresql:'], { secret: true })),
  DATABASE_POOL_SIZE: int({ min: 1, max: 200, default: 10 }),
  MIGRATE_ON_START: bool(true),
  CACHE: oneOf(['none', 'redis'] as const, 'none'),
  REDIS_URL: url(['redis:', 'rediss:'], { default: 'redis://127.0.0.1:6379', secret: true }),
  CACHE_TTL_S: int({ min: 1, max: 30 * 24 * 3600, default: 3600 }),
  CACHE_TIMEOUT_MS: int({ min: 1, max: 10_000, default: 50 }),
  ACK_MODE: oneOf(['durable', 'buffered'] as const, 'durable'),
  ACK_TIMEOUT_MS: int({ min: 1, max: 600_000, default: 5_000 }),
  FLUSH_INTERVAL_MS: int({ min: 1, max: 60_000, default: 50 }),
  FLUSH_MAX_DOMAINS: int({ min: 1, max: 1_000_000, default: 10_000 }),
  MAX_PENDING_EVENTS: int({ min: 1, max: 1_000_000_000, default: 1_000_000 }),
  MAX_BATCH_EVENTS: int({ min: 1, max: 1_000_000, default: 10_000 }),
  BODY_LIMIT_BYTES: int({ min: 1024, max: 256 * 1024 * 1024, default: 4 * 1024 * 1024 }),
  CATCHALL_THRESHOLD: int({ min: 0, max: Number.MAX_SAFE_INTEGER, default: 1000 }),
  SHUTDOWN_TIMEOUT_MS: int({ min: 100, max: 600_000, default: 15_000 }),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info' as LogLevel),
  NODE_ENV: oneOf(['development', 'production', 'test'] as const, 'development'),
};

export type AppConfig = EnvValues<typeof CONFIG_SCHEMA>;

/** Token for injecting the validated configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

export function loadAppConfig(env: Record<string, string | undefined>): AppConfig {
  return loadEnv(CONFIG_SCHEMA, env);
}

export function describeConfig(config: AppConfig): Record<string, unknown> {
  return describeEnv(CONFIG_SCHEMA, config);
}
