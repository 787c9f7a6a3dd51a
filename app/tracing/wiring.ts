// How the telemetry built in main plugs into the app, in one place so that the
// module and the server each need one line: server spans on Fastify, the trace
// page module, trace ids on log lines, and the flush spans of the ingest
// service. Every function is a no-op when tracing is off (OTEL_SDK_DISABLED=true).
import type { DynamicModule } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { LoggerOptions } from '../../foundation/logger/logger';
import { spanOfRequest, traceFastify } from '../../foundation/tracing/fastify-tracing';
import { activeTraceLogFields, logFieldsOf, sampledSpanContext } from '../../foundation/tracing/trace-context';
import { AppConfig } from '../config';
import { TRACE_PAGE_ROUTE } from '../handlers/traces.http.controller';
import { FlushSpans } from './flush-spans';
import { Telemetry } from './setup';
import { TracePageModule } from './trace-page.module';

/** Routes that get no span: scrapes, probes and the trace page would crowd out real traffic. */
const UNTRACED_ROUTES = ['/metrics', '/health', '/health/live', '/health/ready', TRACE_PAGE_ROUTE];

export function traceServer(fastify: FastifyInstance, { tracing }: Telemetry): void {
  if (tracing) {
    traceFastify(fastify, { tracer: tracing.tracer, sampleNewTrace: tracing.sampleNewTrace, ignoreRoutes: UNTRACED_ROUTES });
  }
}

/** The trace page module when the page is on. */
export function tracingModules(config: AppConfig, { tracing, settings: s, serviceName, serviceVersion }: Telemetry): DynamicModule[] {
  const buffer = tracing?.buffer;
  if (!buffer) return [];
  return [
    TracePageModule.forRoot(buffer, {
      title: `Traces · ${serviceName}`,
      facts: {
        version: serviceVersion,
        env: config.NODE_ENV,
        pid: process.pid,
        sampler: `${s.sampler.includes('traceidratio') ? `${s.sampler} ${s.ratio}` : s.sampler}${s.maxPerSecond ? `, at most ${s.maxPerSecond} traces/s` : ''}`,
        exporter: s.exporter === 'otlp' ? `otlp ${s.otlpUrl}` : s.exporter,
        detail: s.detail,
      },
    }),
  ];
}

/**
 * Log fields that tie a line to its trace (trace_id, span_id, trace_flags): from
 * the active context, which with TRACES_DETAIL=full follows a sampled request
 * through its awaits (the per-request line included); with `basic` it does not,
 * so the per-request line takes them from the request. Error lines of the HTTP
 * error filter carry them in either case (foundation/http/error-filter.ts).
 */
export function traceLogOptions({ tracing, settings }: Telemetry): Pick<LoggerOptions, 'mixin' | 'requestFields'> {
  if (!tracing) return {};
  if (settings.detail === 'full') return { mixin: activeTraceLogFields };
  return {
    mixin: activeTraceLogFields,
    requestFields: (req) => logFieldsOf(sampledSpanContext(spanOfRequest(req))),
  };
}

export function createFlushSpans({ tracing }: Telemetry): FlushSpans | undefined {
  return tracing ? new FlushSpans(tracing.tracer, tracing.sampleNewTrace) : undefined;
}
