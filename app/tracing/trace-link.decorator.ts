// @TraceLink(): the request's server span context when it is sampled, else
// undefined; a controller reports it (RequestLinks.add, see flush-spans.ts) so
// that the flush storing the request's events links back to it. Read from the
// request object, not the active context, so it works whichever context
// manager runs (see foundation/tracing/sync-context-manager.ts).
import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { spanOfRequest } from '../../foundation/tracing/fastify-tracing';
import { sampledSpanContext } from '../../foundation/tracing/trace-context';

export const TraceLink = createParamDecorator((_data: unknown, ctx: ExecutionContext) =>
  sampledSpanContext(spanOfRequest(ctx.switchToHttp().getRequest<FastifyRequest>())),
);
