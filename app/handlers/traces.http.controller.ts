// GET /debug/traces: the built-in trace page (HTML), or ?format=json. Only
// registered when the trace page is on (TRACES_UI; see app/tracing/settings.ts).
import { BadRequestException, Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { TraceBuffer } from '../../foundation/tracing/trace-buffer';
import { renderTracePage, TRACE_PAGE_CSP, TracePageInfo } from '../../foundation/tracing/trace-page';
import { ApiRoute } from '../openapi/api-route.decorator';

export const TRACE_PAGE_INFO = Symbol('TRACE_PAGE_INFO');
export const TRACE_PAGE_ROUTE = '/debug/traces';

@Controller('debug/traces')
export class TracesController {
  constructor(
    @Inject(TraceBuffer) private readonly buffer: TraceBuffer,
    @Inject(TRACE_PAGE_INFO) private readonly info: TracePageInfo,
  ) {}

  @ApiRoute({
    tag: 'Operations',
    summary: 'The built-in trace page (only when TRACES_UI is on)',
    parameters: [{ name: 'format', in: 'query', description: 'html (default) or json.', schema: { type: 'string', enum: ['html', 'json'] } }],
    ok: {
      200: {
        description: 'Recent traces, as a page or as JSON.',
        content: { 'text/html': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } },
      },
    },
    errors: [400],
  })
  @Get()
  page(@Query('format') format: string | undefined, @Res() reply: FastifyReply): void {
    if (format !== undefined && format !== 'html' && format !== 'json') {
      throw new BadRequestException(`invalid format ${JSON.stringify(format)}: expected html or json`);
    }
    const snapshot = this.buffer.snapshot();
    void reply.header('cache-control', 'no-store');
    if (format === 'json') {
      void reply.header('content-type', 'application/json; charset=utf-8').send({ ...this.info.facts, ...snapshot });
      return;
    }
    void reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', TRACE_PAGE_CSP)
      .header('x-content-type-options', 'nosniff')
      .send(renderTracePage(snapshot, this.info));
  }
}
