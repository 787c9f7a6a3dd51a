// Builds and starts the HTTP server: Fastify under Nest, with the request id,
// NDJSON parsing, metrics and JSON errors set up once here.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import { JsonErrorFilter } from '../foundation/http/error-filter';
import { REQUEST_ID_HEADER, requestIdFrom } from '../foundation/http/request-id';
import { retryAfterOnClose } from '../foundation/http/retry-after-on-close';
import { Metrics } from '../foundation/metrics/metrics';
import { AppModule } from './app.module';
import { AppConfig, describeConfig } from './config';
import { mapBusinessError } from './errors';
import { describeTracing } from './tracing/settings';
import { traceServer } from './tracing/wiring';

// Long enough for a 253-character name percent-encoded as IDN; validation
// then answers 400 with a reason instead of the router's 404.
const MAX_PARAM_LENGTH = 2048;

export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    genReqId: (req: IncomingMessage) => requestIdFrom(req),
    return503OnClosing: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
  });
  const logger = app.get(Logger);
  app.useLogger(logger);
  const errors = new JsonErrorFilter(mapBusinessError);
  app.useGlobalFilters(errors);

  const fastify = app.getHttpAdapter().getInstance();
  traceServer(fastify);
  retryAfterOnClose(fastify);
  fastify.addHook('onRequest', (request, reply, done) => {
    (request.raw as IncomingMessage & { id?: string }).id = String(request.id);
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  fastify.addContentTypeParser(
    ['application/x-ndjson', 'application/ndjson'],
    { parseAs: 'string', bodyLimit: config.BODY_LIMIT_BYTES },
    (_req, body, done) => done(null, body),
  );
  app.get(Metrics).instrumentFastify(fastify);

  logger.log({ config: describeConfig(config), tracing: describeTracing(config) }, 'configuration');
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
