// The service's telemetry, built once from the validated configuration and the
// environment (whose OTEL_* variables the SDK reads itself): the tracing
// settings in effect and, unless OTEL_SDK_DISABLED=true, the running
// OpenTelemetry SDK. main.ts builds it before it loads the server module (so
// the pg and ioredis instrumentations are in place before those libraries
// load) and passes it to the composition root; nothing else starts or looks
// up tracing. One process runs one SDK: OpenTelemetry's API is process-global.
import { Logger } from '@nestjs/common';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseKeyValueList } from '../../foundation/tracing/otel-env';
import { startTracing, Tracing, TracingOptions } from '../../foundation/tracing/tracing';
import { AppConfig } from '../config';
import { sdkEnv, TracingSettings, tracingSettings } from './settings';

const SERVICE_NAME = 'catchall';

export interface TracingOverrides {
  /** Replaces the configured exporter (tests use an in-memory one). */
  exporter?: SpanExporter;
  /** Where tracing's own messages go (default: the Nest logger, context "Tracing"). */
  log?: TracingOptions['log'];
}

export interface Telemetry {
  readonly settings: TracingSettings;
  /** service.name and service.version, as the resource says them. */
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** The running SDK; undefined when tracing is off. */
  readonly tracing: Tracing | undefined;
}

/** Starts tracing as the configuration says (or not, with OTEL_SDK_DISABLED=true). */
export function startTelemetry(config: AppConfig, env: Record<string, string | undefined>, overrides: TracingOverrides = {}): Telemetry {
  const settings = tracingSettings(config);
  const resource = config.OTEL_RESOURCE_ATTRIBUTES ? (parseKeyValueList(config.OTEL_RESOURCE_ATTRIBUTES) ?? {}) : {};
  const serviceName = config.OTEL_SERVICE_NAME ?? resource['service.name'] ?? SERVICE_NAME;
  const serviceVersion = packageVersion();
  if (!settings.enabled) return { settings, serviceName, serviceVersion, tracing: undefined };
  const logger = new Logger('Tracing');
  const tracing = startTracing({
    serviceName,
    serviceVersion,
    instanceId: resource['service.instance.id'] ?? randomUUID(),
    resourceAttributes: { 'deployment.environment.name': config.NODE_ENV, ...resource },
    sampler: settings.sampler,
    samplerRatio: settings.ratio,
    samplerMaxPerSecond: settings.maxPerSecond,
    env: sdkEnv(settings, env),
    exporter: overrides.exporter,
    // The SDK's OTLP exporters (gRPC, protobuf, JSON) share the class name.
    exportTarget: (e) => (e.constructor.name === 'OTLPTraceExporter' ? settings.otlpUrl : e.constructor.name),
    buffer: settings.ui ? {} : false,
    instrumentations: ['pg', 'ioredis'],
    asyncContext: settings.detail === 'full',
    diagLevel: config.OTEL_LOG_LEVEL,
    log:
      overrides.log ??
      ((level, msg) => {
        if (level === 'warn') logger.warn(msg);
        else if (level === 'info') logger.log(msg);
        else logger.debug(msg);
      }),
  });
  return { settings, serviceName, serviceVersion, tracing };
}

/** The service version from package.json, from compiled (dist/app/tracing) or source (app/tracing) code. */
function packageVersion(): string {
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
