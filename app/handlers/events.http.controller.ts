// Event ingestion: PUT /events/{domain}/{type} and POST /events (JSON or NDJSON).
// Validates, hands events to the ingest service and answers once they are
// recorded as the ack mode requires.
import {
  BadRequestException,
  Body,
  Controller,
  Headers,
  HttpCode,
  Inject,
  Param,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
  Post,
  Put,
  Req,
  Res,
} from '@nestjs/common';
import type { SpanContext } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isEventType, parseDomainName } from '../../business/models';
import { IngestService } from '../../business/services';
import { describeValue } from '../../foundation/http/describe-value';
import { APP_CONFIG, AppConfig } from '../config';
import { EventRateLimit } from '../limits/event-rate-limit';
import { RequestLinks } from '../tracing/flush-spans';
import { TraceLink } from '../tracing/trace-link.decorator';
import { parseJsonBatch, parseNdjsonBatch } from './event-batch';
import { IDEMPOTENCY_KEY_HEADER, idempotencyKeyOf, KeyedBatchHandler } from './idempotent-batch';
import { ApiRoute, json } from '../openapi/api-route.decorator';
import { ref } from '../openapi/schemas';

@Controller('events')
export class EventsController {
  constructor(
    private readonly ingest: IngestService,
    private readonly limits: EventRateLimit,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly links: RequestLinks,
    private readonly keyed: KeyedBatchHandler,
  ) {}

  @ApiRoute({
    tag: 'Events',
    summary: 'Record one event',
    description: 'Counts one delivered or bounced event. With ACK_MODE=durable (default) it answers once the event is stored; buffered answers at once.',
    parameters: [
      { name: 'domain', in: 'path', required: true, description: 'A domain name; normalised (case, trailing dot, IDN to punycode) before use.', schema: { type: 'string', maxLength: 2048 }, example: 'example.com' },
      { name: 'type', in: 'path', required: true, description: 'The event type.', schema: { type: 'string', enum: ['delivered', 'bounced'] }, example: 'delivered' },
    ],
    ok: { 204: { description: 'Recorded.' } },
    errors: [400, 429, 503],
  })
  @Put(':domain/:type')
  @HttpCode(204)
  async recordOne(
    @Param('domain') domain: string,
    @Param('type') type: string,
    @TraceLink() trace: SpanContext | undefined,
    @Req() request: FastifyRequest,
  ): Promise<void> {
    if (!isEventType(type)) {
      throw new BadRequestException(`invalid event type ${describeValue(type)}: expected "delivered" or "bounced"`);
    }
    const name = parseDomainName(domain);
    if (!name.ok) throw new BadRequestException(`invalid domain ${describeValue(domain)}: ${name.reason}`);
    this.limits.take(request, 1);
    const stored = this.ingest.record(name.value, type);
    // In the same turn as record(), so the flush that takes the event links back to this request.
    this.links.add(trace);
    if (stored) await stored;
  }

  @ApiRoute({
    tag: 'Events',
    summary: 'Record a batch of events',
    description:
      'A JSON object with an events array, or NDJSON (one event object a line). A batch with any invalid item is refused whole (400 listing the bad items), nothing counted. With an Idempotency-Key the batch is applied at most once within IDEMPOTENCY_TTL_S; a replay answers the first answer with Idempotent-Replayed: true.',
    parameters: [
      {
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description: '1–255 printable ASCII characters, bare or as a Structured Field string ("…"). The same key with another body is 422.',
        schema: { type: 'string', maxLength: 257 },
        example: '"batch-2026-12-01-0001"',
      },
    ],
    body: {
      content: {
        'application/json': { schema: ref('EventBatch') },
        'application/x-ndjson': { schema: { type: 'string' }, example: '{"domain":"a.com","type":"delivered"}\n{"domain":"b.org","type":"bounced"}\n' },
      },
    },
    ok: {
      200: {
        description: 'Every event recorded.',
        content: json(ref('Accepted')),
        headers: { 'Idempotent-Replayed': { description: '"true" when this answers a replay of an Idempotency-Key.', schema: { type: 'string', enum: ['true'] } } },
      },
    },
    errors: [400, 409, 413, 415, 422, 429, 503],
    batch: true,
  })
  @Post()
  @HttpCode(200)
  async recordBatch(
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @TraceLink() trace: SpanContext | undefined,
    @Req() request: FastifyRequest,
    @Headers(IDEMPOTENCY_KEY_HEADER) idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    const max = this.config.MAX_BATCH_EVENTS;
    const ndjson = isNdjson(contentType);
    if (!ndjson && !isJson(contentType)) {
      throw new UnsupportedMediaTypeException(
        'unsupported Content-Type: send application/json or application/x-ndjson',
      );
    }
    const key = idempotencyKeyOf(idempotencyKey);
    const result = ndjson ? parseNdjsonBatch(typeof body === 'string' ? body : '', max) : parseJsonBatch(body, max);
    if (!result.ok) {
      if (result.tooMany) throw new PayloadTooLargeException(result.message);
      throw new BadRequestException({ message: result.message, invalid: result.invalid, errors: result.errors });
    }
    // Counted in events, after validation: a refused batch takes no tokens.
    this.limits.take(request, result.events.length);
    // A keyed batch is applied once, in one transaction with its key (not through the pending map).
    if (key !== undefined) return this.keyed.answer(key, ndjson ? 'application/x-ndjson' : 'application/json', result.events, reply);
    const stored = this.ingest.recordMany(result.events);
    this.links.add(trace);
    if (stored) await stored;
    return { accepted: result.events.length };
  }
}

function isJson(contentType: string | undefined): boolean {
  return !!contentType && /^application\/json\b/i.test(contentType);
}

function isNdjson(contentType: string | undefined): boolean {
  return !!contentType && /^application\/(x-)?ndjson\b/i.test(contentType);
}
