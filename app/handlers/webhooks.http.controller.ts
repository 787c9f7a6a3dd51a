// GET /webhooks/failures: the parked deliveries (given up after
// WEBHOOK_MAX_ATTEMPTS), newest first, from the shared state (every node's).
// Endpoint URLs are shown without password or query string: they may hold tokens.
import { BadRequestException, Controller, Get, Inject, Optional, Query } from '@nestjs/common';
import { WebhookFailure, WebhookState } from '../../business/ports';
import { WebhookDeliverer, webhookId } from '../../business/services';
import { displayUrl } from '../config';
import { encodeCursor } from './changes-query';
import { ApiRoute, json } from '../openapi/api-route.decorator';
import { ref } from '../openapi/schemas';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

interface FailureView {
  endpoint: string;
  url?: string;
  webhookId: string;
  cursor: string;
  attempts: number;
  lastError: string;
  at: string;
}

@Controller('webhooks')
export class WebhooksController {
  private readonly urls: Map<string, string>;

  constructor(
    @Inject(WebhookState) private readonly state: WebhookState,
    @Optional() @Inject(WebhookDeliverer) deliverer: WebhookDeliverer | null = null,
  ) {
    this.urls = new Map((deliverer?.endpoints ?? []).map((ep) => [ep.key, displayUrl(ep.url)]));
  }

  @ApiRoute({
    tag: 'Changes',
    summary: 'Webhook deliveries given up after WEBHOOK_MAX_ATTEMPTS',
    parameters: [
      { name: 'limit', in: 'query', description: 'Failures to answer.', schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT } },
    ],
    ok: { 200: { description: 'The parked deliveries, newest first.', content: json(ref('WebhookFailures')) } },
    errors: [400, 503],
  })
  @Get('failures')
  async failures(@Query('limit') limit?: string): Promise<{ failures: FailureView[] }> {
    let n = DEFAULT_LIMIT;
    if (limit !== undefined) {
      n = /^[0-9]{1,7}$/.test(limit) ? Number(limit) : 0;
      if (n < 1 || n > MAX_LIMIT) throw new BadRequestException(`limit must be an integer from 1 to ${MAX_LIMIT}`);
    }
    const failures = await this.state.failures(n);
    return { failures: failures.map((f) => this.toView(f)) };
  }

  private toView(f: WebhookFailure): FailureView {
    return {
      endpoint: f.endpoint,
      url: this.urls.get(f.endpoint),
      webhookId: webhookId(f.changeId, f.endpoint),
      cursor: encodeCursor(f.changeId),
      attempts: f.attempts,
      lastError: f.lastError,
      at: f.at.toISOString(),
    };
  }
}
