// Bench-only entry (bench/tracing-bench.ts): the compiled service with the
// maintained Fastify instrumentation, @fastify/otel, in place of the
// hand-written hooks (foundation/tracing/fastify-tracing.ts), on the SDK's
// standard AsyncLocalStorage context manager (TRACES_DETAIL=full selects it).
// Everything else (sampler, export, flush spans) is the service's own.
// @fastify/otel is not a dependency: install it to run this variant
// (npm install --no-save @fastify/otel).
/* global require, process, __dirname, console */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS entry: the server runs it with node, untranspiled */
'use strict';
const path = require('node:path');
const FastifyOtelInstrumentation = require('@fastify/otel');
const { trace } = require('@opentelemetry/api');

const dist = path.resolve(process.env.CATCHALL_DIST ?? path.join(__dirname, '..', 'dist'));
const { loadAppConfig } = require(path.join(dist, 'app/config'));
const { startTelemetry } = require(path.join(dist, 'app/tracing/setup'));
const wiring = require(path.join(dist, 'app/tracing/wiring'));
const { startServer } = require(path.join(dist, 'app/main'));

const telemetry = startTelemetry(loadAppConfig(process.env));
const otel = new FastifyOtelInstrumentation({
  registerOnInitialization: true,
  // The routes the hand-written hooks leave out as well (UNTRACED_ROUTES, app/tracing/wiring.ts).
  ignorePaths: (route) => ['/metrics', '/health', '/health/live', '/health/ready', '/debug/traces'].includes(route.url),
});
otel.setTracerProvider(trace.getTracerProvider());
otel.enable();
// No hand-written server spans: @fastify/otel makes them.
wiring.traceServer = () => undefined;

startServer(process.env, telemetry).then(
  (server) => console.log(`catchall listening on ${server.url} (@fastify/otel)`),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
