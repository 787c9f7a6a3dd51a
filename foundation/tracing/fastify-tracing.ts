// Server spans for Fastify from its own hooks, instead of patching node:http:
// the span is named after the route template ("PUT /events/:domain/:type"), it
// works wherever the app runs (a compiled process or a jest worker, where
// require hooks never fire), and an unsampled request costs one sampler call.
// The incoming W3C traceparent is honoured, so a sampled caller's trace continues.
//
// Only sampled requests run inside their span's context (AsyncLocalStorage).
// On Node 20 that context costs every promise a hook call once it is in use,
// which is the main price of tracing here; an unsampled request costs a sampler
// call and nothing else.
import {
  Context,
  context,
  propagation,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanStatusCode,
  trace,
  Tracer,
} from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface FastifyTracingOptions {
  tracer: Tracer;
  /** Route templates that get no span at all (scrapes, probes, the trace page itself). */
  ignoreRoutes?: readonly string[];
}

const SPAN = Symbol('otel.server.span');
const CONTEXT = Symbol('otel.server.context');

type Traced = { [SPAN]?: Span; [CONTEXT]?: Context };

/**
 * Adds the hooks. Call it before the first request; routes registered later are
 * covered too. The handler runs with the span active, so child spans (database,
 * cache) and log lines find it.
 */
export function traceFastify(fastify: FastifyInstance, opts: FastifyTracingOptions): void {
  const ignored = new Set(opts.ignoreRoutes ?? []);
  const tracer = opts.tracer;
  // Declared up front so that every request object keeps one shape.
  fastify.decorateRequest(SPAN, undefined);
  fastify.decorateRequest(CONTEXT, undefined);

  fastify.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    if (route !== undefined && ignored.has(route)) return done();
    const parent = request.headers.traceparent ? propagation.extract(ROOT_CONTEXT, request.headers) : ROOT_CONTEXT;
    const span = tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      { kind: SpanKind.SERVER },
      parent,
    );
    (request as unknown as Traced)[SPAN] = span;
    // An unsampled request gets no active context: nothing below would record a
    // span under it anyway, and entering one costs more than the span itself.
    if (!span.isRecording()) return done();
    span.setAttributes(requestAttributes(request, route));
    const ctx = trace.setSpan(parent, span);
    (request as unknown as Traced)[CONTEXT] = ctx;
    context.with(ctx, done);
  });

  // Body parsing resumes on the socket's callbacks, outside the context entered
  // above: enter it again just before the handler runs.
  fastify.addHook('preHandler', (request, _reply, done) => {
    const ctx = (request as unknown as Traced)[CONTEXT];
    if (ctx === undefined) return done();
    context.with(ctx, done);
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    const span = (request as unknown as Traced)[SPAN];
    if (span !== undefined) {
      const status = reply.statusCode;
      if (span.isRecording()) {
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        if (status >= 500) {
          span.setAttribute(ATTR_ERROR_TYPE, String(status));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
      }
      span.end();
    }
    done();
  });

  fastify.addHook('onRequestAbort', (request, done) => {
    const span = (request as unknown as Traced)[SPAN];
    if (span !== undefined) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'client closed the connection' });
      span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
      span.end();
    }
    done();
  });
}

function requestAttributes(request: FastifyRequest, route: string | undefined): Record<string, string | number> {
  const q = request.url.indexOf('?');
  const attrs: Record<string, string | number> = {
    [ATTR_HTTP_REQUEST_METHOD]: request.method,
    [ATTR_URL_PATH]: q === -1 ? request.url : request.url.slice(0, q),
    [ATTR_URL_SCHEME]: request.protocol,
    [ATTR_NETWORK_PROTOCOL_VERSION]: request.raw.httpVersion,
    'request.id': String(request.id),
  };
  if (route !== undefined) attrs[ATTR_HTTP_ROUTE] = route;
  if (request.ip) attrs[ATTR_CLIENT_ADDRESS] = request.ip;
  const ua = request.headers['user-agent'];
  if (ua) attrs[ATTR_USER_AGENT_ORIGINAL] = ua;
  return attrs;
}
