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
} from '@nestjs/common';
import type { SpanContext } from '@opentelemetry/api';
import { isEventType, parseDomainName } from '../../business/models';
import { IngestService } from '../../business/services';
import { APP_CONFIG, AppConfig } from '../config';
import { RequestLinks } from '../tracing/flush-spans';
import { TraceLink } from '../tracing/trace-link.decorator';
import { describe, parseJsonBatch, parseNdjsonBatch } from './event-batch';

@Controller('events')
export class EventsController {
  constructor(
    private readonly ingest: IngestService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly links: RequestLinks,
  ) {}

  @Put(':domain/:type')
  @HttpCode(204)
  async recordOne(
    @Param('domain') domain: string,
    @Param('type') type: string,
    @TraceLink() trace: SpanContext | undefined,
  ): Promise<void> {
    if (!isEventType(type)) {
      throw new BadRequestException(`invalid event type ${describe(type)}: expected "delivered" or "bounced"`);
    }
    const name = parseDomainName(domain);
    if (!name.ok) throw new BadRequestException(`invalid domain ${describe(domain)}: ${name.reason}`);
    const stored = this.ingest.record(name.value, type);
    // In the same turn as record(), so the flush that takes the event links back to this request.
    this.links.add(trace);
    if (stored) await stored;
  }

  @Post()
  @HttpCode(200)
  async recordBatch(
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @TraceLink() trace: SpanContext | undefined,
  ): Promise<{ accepted: number }> {
    const max = this.config.MAX_BATCH_EVENTS;
    const ndjson = isNdjson(contentType);
    if (!ndjson && !isJson(contentType)) {
      throw new UnsupportedMediaTypeException(
        'unsupported Content-Type: send application/json or application/x-ndjson',
      );
    }
    const result = ndjson ? parseNdjsonBatch(typeof body === 'string' ? body : '', max) : parseJsonBatch(body, max);
    if (!result.ok) {
      if (result.tooMany) throw new PayloadTooLargeException(result.message);
      throw new BadRequestException({ message: result.message, invalid: result.invalid, errors: result.errors });
    }
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
