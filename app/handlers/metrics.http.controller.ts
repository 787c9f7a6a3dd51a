// GET /metrics: the Prometheus text format.
import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Metrics } from '../../foundation/metrics/metrics';
import { ApiRoute } from '../openapi/api-route.decorator';

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @ApiRoute({
    tag: 'Operations',
    summary: 'Prometheus metrics',
    ok: { 200: { description: 'The Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' }, example: 'catchall_events_total{type="delivered"} 12\n' } } } },
    errors: [],
  })
  @Get()
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const body = await this.metrics.text();
    void reply.header('content-type', this.metrics.contentType()).send(body);
  }
}
