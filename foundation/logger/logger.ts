// Structured JSON logs with pino (nestjs-pino). One line per request only at
// debug level, so the hot path stays cheap; errors are always logged.
import { LoggerModule } from 'nestjs-pino';
import type { DynamicModule } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { requestIdFrom } from '../http/request-id';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  level: LogLevel;
  /** Extra fields for every line (service name, instance). */
  base?: Record<string, unknown>;
  /** Adds fields to each line from the active context (trace ids); gets the line's own fields. */
  mixin?: (line: object) => Record<string, unknown>;
  /** Adds fields to the per-request line from the request (its trace ids, when no context is active then). */
  requestFields?: (req: IncomingMessage) => Record<string, unknown>;
}

export function loggerModule(opts: LoggerOptions): DynamicModule {
  const perRequest = opts.level === 'debug' || opts.level === 'trace';
  return LoggerModule.forRoot({
    // Below debug level no per-request logger is built at all: pino-http's
    // per-request child logger costs more than the whole PUT handler. Errors are
    // still logged (with the request id) by the error filter.
    forRoutes: perRequest ? undefined : [],
    pinoHttp: {
      level: opts.level,
      base: opts.base,
      mixin: opts.mixin,
      customProps: opts.requestFields,
      autoLogging: perRequest,
      quietReqLogger: true,
      genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id?: string }).id ?? requestIdFrom(req),
      serializers: {
        req: (req: { id?: string; method?: string; url?: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
  });
}
