// @TraceLink(): the request's server span context when it is sampled, else
// undefined; the opaque handle a controller hands to the ingest service so that
// the flush storing the event can link back to the request. Read from the
// request object, not the active context, so it works whichever context
// manager runs (see foundation/tracing/sync-context-manager.ts).
import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { spanOfRequest } from '../../foundation/tracing/fastify-tracing';
import { sampledSpanContext } from '../../foundation/tracing/trace-context';

export const TraceLink = createParamDecorator((_data: unknown, ctx: ExecutionContext) =>
  sampledSpanContext(spanOfRequest(ctx.switchToHttp().getRequest<FastifyRequest>())),
);
