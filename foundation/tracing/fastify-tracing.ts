// Server spans for Fastify from its own hooks, instead of patching node:http:
// the span is named after the route template ("PUT /events/:domain/:type"), it
// works wherever the app runs (a compiled process or a jest worker, where
// require hooks never fire), and an unsampled request costs one random draw.
// The incoming trace context is honoured (W3C traceparent, or what
// OTEL_PROPAGATORS names), so a sampled caller's trace continues.
//
// The hooks are attached to each route as it is registered (onRoute), with the
// span name worked out once: an ignored route has no hook at all, and no
// request pays for Fastify's routeOptions getter. Unmatched requests (404) get
// no span. A request that starts a new trace is decided before any span exists
// (sampleNewTrace): an unsampled one costs a random draw. The span is kept on
// the request (spanOfRequest) for code that runs outside its context; only a
// sampled request runs inside its context.
import { Context, context, propagation, ROOT_CONTEXT, Span, SpanKind, SpanStatusCode, trace, Tracer } from '@opentelemetry/api';
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
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
  onResponseHookHandler,
  preHandlerHookHandler,
  RouteOptions,
} from 'fastify';
import type { IncomingMessage } from 'node:http';
import { PRE_SAMPLED } from './sampler';

export interface FastifyTracingOptions {
  tracer: Tracer;
  /**
   * Decides a request with no traceparent before any span exists (Sampling's
   * sampleNewTrace): a "no" costs one random draw. Without it every request
   * starts a span and the tracer's sampler decides.
   */
  sampleNewTrace?: () => boolean;
  /** Route templates that get no span at all (scrapes, probes, the trace page itself). */
  ignoreRoutes?: readonly string[];
}

const SPAN = Symbol('otel.server.span');
const CONTEXT = Symbol('otel.server.context');

type Traced = { [SPAN]?: Span; [CONTEXT]?: Context };

/** Methods whose handler may run after a body is read (outside the context entered in onRequest). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Adds the hooks to every route registered from now on; call it before the routes are registered. */
export function traceFastify(fastify: FastifyInstance, opts: FastifyTracingOptions): void {
  const ignored = new Set(opts.ignoreRoutes ?? []);
  const tracer = opts.tracer;
  const sampleNewTrace = opts.sampleNewTrace;
  // Declared up front so that every request object keeps one shape.
  fastify.decorateRequest(SPAN, undefined);
  fastify.decorateRequest(CONTEXT, undefined);

  fastify.addHook('onRoute', (route: RouteOptions) => {
    if (ignored.has(route.url)) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // HEAD routes that Fastify derives from GET share the GET route's options.
    const name = `${methods[0]} ${route.url}`;
    const onRequest: onRequestHookHandler = (request, reply, done) => {
      let parent: Context;
      // The propagators of OTEL_PROPAGATORS (W3C traceparent by default; b3, jaeger…).
      const remote = propagation.extract(ROOT_CONTEXT, request.headers);
      if (trace.getSpanContext(remote)) parent = remote;
      else if (sampleNewTrace === undefined) parent = ROOT_CONTEXT;
      else if (sampleNewTrace()) parent = PRE_SAMPLED;
      else return done();
      const span = tracer.startSpan(name, { kind: SpanKind.SERVER }, parent);
      (request as Traced)[SPAN] = span;
      // An unsampled request gets no active context: nothing below would record
      // a span under it, and entering one costs more than the span itself.
      if (!span.isRecording()) return done();
      (request.raw as Traced)[SPAN] = span;
      span.setAttributes(requestAttributes(request, route.url));
      // A client that goes away before the answer: end the span anyway.
      reply.raw.once('close', () => {
        if (!span.isRecording()) return;
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'client closed the connection' });
        span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
        span.end();
      });
      const ctx = trace.setSpan(parent === PRE_SAMPLED ? ROOT_CONTEXT : parent, span);
      (request as Traced)[CONTEXT] = ctx;
      context.with(ctx, done);
    };
    // Body parsing resumes on the socket's callbacks, outside the context
    // entered above: enter it again just before the handler runs.
    const preHandler: preHandlerHookHandler = (request, _reply, done) => {
      const ctx = (request as Traced)[CONTEXT];
      if (ctx === undefined) return done();
      context.with(ctx, done);
    };
    const onResponse: onResponseHookHandler = (request, reply, done) => {
      endSpan((request as Traced)[SPAN], reply);
      done();
    };
    route.onRequest = [onRequest, ...hooks(route.onRequest)];
    if (methods.some((m) => BODY_METHODS.has(m))) route.preHandler = [preHandler, ...hooks(route.preHandler)];
    route.onResponse = [...hooks(route.onResponse), onResponse];
  });
}

/** The server span of a request: any on Fastify's request, only a sampled one on the raw request. */
export function spanOfRequest(request: FastifyRequest | IncomingMessage | undefined): Span | undefined {
  return (request as Traced | undefined)?.[SPAN];
}

function endSpan(span: Span | undefined, reply: FastifyReply): void {
  if (span === undefined || !span.isRecording()) return;
  const status = reply.statusCode;
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  if (status >= 500) {
    span.setAttribute(ATTR_ERROR_TYPE, String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

function hooks<T>(h: T | T[] | undefined): T[] {
  if (h === undefined) return [];
  return Array.isArray(h) ? h : [h];
}

function requestAttributes(request: FastifyRequest, route: string): Record<string, string | number> {
  const q = request.url.indexOf('?');
  const attrs: Record<string, string | number> = {
    [ATTR_HTTP_REQUEST_METHOD]: request.method,
    [ATTR_HTTP_ROUTE]: route,
    [ATTR_URL_PATH]: q === -1 ? request.url : request.url.slice(0, q),
    [ATTR_URL_SCHEME]: request.protocol,
    [ATTR_NETWORK_PROTOCOL_VERSION]: request.raw.httpVersion,
    'request.id': String(request.id),
  };
  if (request.ip) attrs[ATTR_CLIENT_ADDRESS] = request.ip;
  const ua = request.headers['user-agent'];
  if (ua) attrs[ATTR_USER_AGENT_ORIGINAL] = ua;
  return attrs;
}
