// GET /metrics: the Prometheus text format.
import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Metrics } from '../../foundation/metrics/metrics';

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const body = await this.metrics.text();
    void reply.header('content-type', this.metrics.contentType()).send(body);
  }
}
