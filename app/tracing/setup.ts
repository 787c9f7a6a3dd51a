// Starts this service's tracing once per process from the validated
// configuration. main.ts calls it before it loads the server module, so the pg
// and ioredis instrumentations are in place before those libraries load. The
// first call wins: later servers in the same process (tests) share it.
import { Logger } from '@nestjs/common';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseKeyValueList } from '../../foundation/tracing/otel-env';
import { startTracing, Tracing } from '../../foundation/tracing/tracing';
import { AppConfig } from '../config';
import { tracingSettings } from './settings';

export const SERVICE_NAME = 'catchall';

export interface TracingOverrides {
  /** Replaces the configured exporter (tests use an in-memory one). */
  exporter?: SpanExporter;
}

let current: { tracing: Tracing | undefined } | undefined;

/** Starts tracing unless it already runs (or OTEL_SDK_DISABLED=true); returns it. */
export function setupTracing(config: AppConfig, overrides: TracingOverrides = {}): Tracing | undefined {
  if (current) return current.tracing;
  const settings = tracingSettings(config);
  if (!settings.enabled) {
    current = { tracing: undefined };
    return undefined;
  }
  const logger = new Logger('Tracing');
  const resource = config.OTEL_RESOURCE_ATTRIBUTES ? (parseKeyValueList(config.OTEL_RESOURCE_ATTRIBUTES) ?? {}) : {};
  const headers = {
    ...parseKeyValueList(config.OTEL_EXPORTER_OTLP_HEADERS ?? ''),
    ...parseKeyValueList(config.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? ''),
  };
  const tracing = startTracing({
    serviceName: config.OTEL_SERVICE_NAME ?? resource['service.name'] ?? SERVICE_NAME,
    serviceVersion: packageVersion(),
    instanceId: resource['service.instance.id'] ?? randomUUID(),
    resourceAttributes: { 'deployment.environment.name': config.NODE_ENV, ...resource },
    sampler: settings.sampler,
    samplerRatio: settings.ratio,
    samplerMaxPerSecond: settings.maxPerSecond,
    exporter: overrides.exporter ?? settings.exporter,
    otlp: {
      url: settings.otlpUrl,
      protocol: settings.otlpProtocol,
      headers,
      timeoutMs: config.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? config.OTEL_EXPORTER_OTLP_TIMEOUT,
    },
    batch: {
      scheduleDelayMs: config.OTEL_BSP_SCHEDULE_DELAY,
      exportTimeoutMs: config.OTEL_BSP_EXPORT_TIMEOUT,
      maxQueueSize: config.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: config.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    },
    buffer: settings.ui ? {} : false,
    instrumentations: ['pg', 'ioredis'],
    asyncContext: settings.detail === 'full',
    diagLevel: config.OTEL_LOG_LEVEL,
    log: (level, msg) => {
      if (level === 'warn') logger.warn(msg);
      else if (level === 'info') logger.log(msg);
      else logger.debug(msg);
    },
  });
  current = { tracing };
  return tracing;
}

/** The running tracing, if any. */
export function currentTracing(): Tracing | undefined {
  return current?.tracing;
}

/** Exports what is queued and stops, waiting at most timeoutMs. */
export async function stopTracing(timeoutMs: number): Promise<void> {
  await current?.tracing?.shutdown(timeoutMs);
}

/** The service version from package.json, from compiled (dist/app/tracing) or source (app/tracing) code. */
export function packageVersion(): string {
  let dir = __dirname;
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const version = (JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version;
        return typeof version === 'string' ? version : 'unknown';
      } catch {
        return 'unknown';
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}
