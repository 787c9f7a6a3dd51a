// Builds and starts the HTTP server: Fastify under Nest, with the request id,
// security headers, authentication, timeouts and the connection cap, NDJSON
// parsing, metrics and JSON errors set up once here. The service does not route
// by Host: any Host header reaches the same routes (docs/reliability.md, "Edges").
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import { JsonErrorFilter } from '../foundation/http/error-filter';
import { REQUEST_ID_HEADER, requestIdFrom } from '../foundation/http/request-id';
import { SECURITY_HEADERS } from '../foundation/http/security-headers';
import { retryAfterOnClose } from '../foundation/http/retry-after-on-close';
import { Metrics } from '../foundation/metrics/metrics';
import { AppModule } from './app.module';
import { installAuth } from './auth/auth-hook';
import { AuthMetrics } from './auth/auth-metrics';
import { AppConfig, authEnabled, describeConfig } from './config';
import { mapBusinessError } from './errors';
import { serveOpenApi } from './openapi/setup';
import { describeTracing } from './tracing/settings';
import { Telemetry } from './tracing/setup';
import { traceServer } from './tracing/wiring';

// Long enough for a 253-character name percent-encoded as IDN; validation
// then answers 400 with a reason instead of the router's 404.
const MAX_PARAM_LENGTH = 2048;

/**
 * Node checks request and header timeouts on this period (30 s by default,
 * which would let a stalled upload live up to 30 s past a short timeout).
 */
function checkingIntervalMs(config: AppConfig): number {
  return Math.max(50, Math.min(1_000, Math.floor(config.HTTP_HEADERS_TIMEOUT_MS / 4)));
}

export async function createApp(config: AppConfig, telemetry: Telemetry): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    genReqId: (req: IncomingMessage) => requestIdFrom(req),
    return503OnClosing: true,
    // Slow and idle clients: see the HTTP_* settings in app/config.ts.
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    connectionTimeout: config.HTTP_IDLE_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    maxRequestsPerSocket: config.HTTP_MAX_REQUESTS_PER_SOCKET ?? 0,
    http: {
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: checkingIntervalMs(config),
    },
  });
  // A failure while wiring (an unreachable database, say) is thrown to main,
  // which prints it as one line; Nest would otherwise log its stack and the
  // buffered start-up lines, about 25 lines for one problem.
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, telemetry), adapter, {
    bufferLogs: true,
    autoFlushLogs: false,
    abortOnError: false,
  });
  const logger = app.get(Logger);
  app.useLogger(logger);
  app.flushLogs();
  const errors = new JsonErrorFilter(mapBusinessError);
  app.useGlobalFilters(errors);

  const fastify = app.getHttpAdapter().getInstance();
  traceServer(fastify, telemetry);
  retryAfterOnClose(fastify);
  fastify.addHook('onRequest', (request, reply, done) => {
    (request.raw as IncomingMessage & { id?: string }).id = String(request.id);
    void reply.headers(SECURITY_HEADERS).header(REQUEST_ID_HEADER, request.id);
    done();
  });
  if (authEnabled(config)) {
    installAuth(fastify, config.API_KEYS ?? [], { metricsPublic: config.METRICS_PUBLIC, metrics: app.get(AuthMetrics) });
  }
  // Past the cap Node closes new connections at once (before any byte is read).
  fastify.server.maxConnections = config.HTTP_MAX_CONNECTIONS;
  fastify.addContentTypeParser(
    ['application/x-ndjson', 'application/ndjson'],
    { parseAs: 'string', bodyLimit: config.BODY_LIMIT_BYTES },
    (_req, body, done) => done(null, body),
  );
  app.get(Metrics).instrumentFastify(fastify);
  serveOpenApi(app, config.METRICS_PUBLIC, telemetry.serviceVersion);

  logger.log({ config: describeConfig(config), tracing: describeTracing(telemetry.settings) }, 'configuration');
  if (!authEnabled(config) && config.AUTH !== 'none') {
    logger.warn(
      'authentication is off: set API_KEYS=name:write:<secret>,name:read:<secret> (or API_KEYS_FILE) to require keys',
    );
  }
  return app;
}

export interface RunningServer {
  app: NestFastifyApplication;
  url: string;
  close(): Promise<void>;
}

export async function listen(app: NestFastifyApplication, config: AppConfig): Promise<RunningServer> {
  await app.listen(config.PORT, config.HOST);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
  return { app, url: `http://${host}:${port}`, close: () => app.close() };
}
