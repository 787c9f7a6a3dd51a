// Logs with pino (nestjs-pino): JSON lines in production and whenever stdout is
// not a terminal (a file, a pipe, a container log driver); human-readable lines
// through pino-pretty on a developer's terminal. One line per request only at
// debug level, so the hot path stays cheap; errors are always logged.
import { LoggerModule } from 'nestjs-pino';
import type { DynamicModule } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { LogFn, Logger as PinoLogger } from 'pino';
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
  /** Human-readable lines instead of JSON; default: prettyLogsWanted(). */
  pretty?: boolean;
}

/**
 * Nest's start-up chatter (one line per module, controller and route) is
 * logged at info by Nest itself; it says nothing an operator acts on, so it
 * goes out at debug.
 */
const BOOT_CHATTER_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);
const INFO = 30;

/** A pino `logMethod` hook that re-issues Nest's boot chatter at debug level. */
export function demoteBootChatter(this: PinoLogger, args: Parameters<LogFn>, method: LogFn, level: number): void {
  const first: unknown = args[0];
  const context = typeof first === 'object' && first !== null ? (first as { context?: unknown }).context : undefined;
  if (level === INFO && typeof context === 'string' && BOOT_CHATTER_CONTEXTS.has(context)) {
    if (this.isLevelEnabled('debug')) this.debug(...args);
    return;
  }
  method.apply(this, args);
}

/**
 * Pretty lines only for a person at a terminal: stdout is a TTY, NODE_ENV is
 * not production, and pino-pretty is installed (it is a devDependency, so a
 * production install never has it and always writes JSON).
 */
export function prettyLogsWanted(
  env: Record<string, string | undefined> = process.env,
  isTTY: boolean = process.stdout.isTTY === true,
  resolve: (id: string) => string = require.resolve,
): boolean {
  if (!isTTY || env.NODE_ENV === 'production') return false;
  try {
    resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function loggerModule(opts: LoggerOptions): DynamicModule {
  const perRequest = opts.level === 'debug' || opts.level === 'trace';
  const pretty = opts.pretty ?? prettyLogsWanted();
  return LoggerModule.forRoot({
    // Below debug level no per-request logger is built at all: pino-http's
    // per-request child logger costs more than the whole PUT handler. Errors are
    // still logged (with the request id) by the error filter.
    forRoutes: perRequest ? undefined : [],
    pinoHttp: {
      level: opts.level,
      base: opts.base,
      mixin: opts.mixin,
      hooks: { logMethod: demoteBootChatter },
      transport: pretty
        ? {
            target: 'pino-pretty',
            options: {
              translateTime: 'SYS:HH:MM:ss.l',
              ignore: 'pid,hostname,service,context',
              messageFormat: '{if context}[{context}] {end}{msg}',
            },
          }
        : undefined,
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
