// GET /domains (a keyset page of domains, by status) and GET /domains/export
// (every matching domain as NDJSON, streamed). The export reads one batch at a
// time and only as fast as the client takes it: Fastify pipes the stream with
// backpressure and destroys it when the client goes away, which ends the
// generator, so no further batch is read (flat memory, no orphaned queries).
import { BadRequestException, Controller, Get, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { DomainReport } from '../../business/models';
import { DomainPage, ListingService } from '../../business/services';
import { encodeListCursor, parseExportQuery, parseListingQuery } from './domains-query';
import { ApiRoute, json } from '../openapi/api-route.decorator';
import { LIMIT_PARAMETER, ref } from '../openapi/schemas';

const STATUS_PARAMETER = {
  name: 'status',
  in: 'query' as const,
  description: 'Only domains of this status; every domain when absent.',
  schema: ref('DomainStatus'),
  example: 'catch-all',
};

const NDJSON = 'application/x-ndjson';

@Controller('domains')
export class DomainListingController {
  constructor(private readonly listing: ListingService) {}

  @ApiRoute({
    tag: 'Domains',
    summary: 'List domains by status, a page at a time',
    description:
      'Stored domains in name order (byte order), keyset-paginated: pass the answer\'s next as cursor for the next page; next is null on the last page. Every domain that exists when the walk starts and keeps its status is returned exactly once, even while events keep coming. Statuses are as of the last flush (not including a node\'s unflushed events).',
    parameters: [STATUS_PARAMETER, { name: 'limit', in: 'query', description: 'Domains per page.', schema: { type: 'integer', ...LIMIT_PARAMETER } }, { name: 'cursor', in: 'query', description: 'The next of the previous page (opaque).', schema: { type: 'string' } }],
    ok: { 200: { description: 'A page of domains.', content: json(ref('DomainPage')) } },
    errors: [400, 503],
  })
  @Get()
  async list(@Query() query: Record<string, unknown>): Promise<{ domains: DomainReport[]; next: string | null }> {
    const parsed = parseListingQuery(query);
    if (!parsed.ok) throw new BadRequestException(parsed.reason);
    const { status, limit, after } = parsed.value;
    const page: DomainPage = await this.listing.page(status, limit, after);
    return { domains: page.domains, next: page.next === null ? null : encodeListCursor(page.next) };
  }

  @ApiRoute({
    tag: 'Domains',
    summary: 'Export every domain of a status as NDJSON',
    description:
      'One DomainReport per line, in name order, streamed as it is read (a batch of 1000 at a time, at the pace the client reads): memory stays flat however many domains match. For building block lists. Closing the connection stops the export.',
    parameters: [STATUS_PARAMETER],
    ok: {
      200: {
        description: 'The domains, one JSON object a line.',
        content: { 'application/x-ndjson': { schema: ref('DomainReport'), example: '{"domain":"a.example","status":"catch-all","delivered":1500,"bounced":0}\n' } },
      },
    },
    errors: [400, 503],
  })
  @Get('export')
  async export(@Query() query: Record<string, unknown>, @Res() reply: FastifyReply): Promise<void> {
    const status = parseExportQuery(query);
    if (!status.ok) throw new BadRequestException(status.reason);
    const batches = this.listing.export(status.value);
    // The first batch before any byte is sent: a store that is down is still a 503 JSON answer.
    const first = await batches.next();
    void reply.header('content-type', `${NDJSON}; charset=utf-8`).send(Readable.from(lines(first, batches)));
  }
}

/** One string per batch (one line per domain), so a chunk is a batch, not a row. */
async function* lines(first: IteratorResult<DomainReport[]>, rest: AsyncGenerator<DomainReport[]>): AsyncGenerator<string> {
  try {
    if (first.done) return;
    yield toNdjson(first.value);
    for await (const batch of rest) yield toNdjson(batch);
  } finally {
    await rest.return(undefined);
  }
}

function toNdjson(batch: DomainReport[]): string {
  let out = '';
  for (const d of batch) out += JSON.stringify(d) + '\n';
  return out;
}
