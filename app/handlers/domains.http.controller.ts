// Lookups: GET /domains/{domain} and POST /domains/lookup (up to 1000 names).
import { BadRequestException, Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { DomainName, DomainReport, parseDomainName } from '../../business/models';
import { LookupService } from '../../business/services';
import { describeValue } from '../../foundation/http/describe-value';
import { ItemError, MAX_REPORTED } from './event-batch';
import { ApiRoute, json } from '../openapi/api-route.decorator';
import { ref } from '../openapi/schemas';

const MAX_LOOKUP_DOMAINS = 1000;

@Controller('domains')
export class DomainsController {
  constructor(private readonly lookups: LookupService) {}

  @ApiRoute({
    tag: 'Domains',
    summary: "A domain's status and counts",
    description: "A never-seen domain is unknown with zero counts. Includes this node's own events not flushed yet.",
    parameters: [{ name: 'domain', in: 'path', required: true, description: 'A domain name; normalised (case, trailing dot, IDN to punycode) before use.', schema: { type: 'string', maxLength: 2048 }, example: 'example.com' }],
    ok: { 200: { description: 'The domain.', content: json(ref('DomainReport')) } },
    errors: [400, 503],
  })
  @Get(':domain')
  async getOne(@Param('domain') domain: string): Promise<DomainReport> {
    const name = parseDomainName(domain);
    if (!name.ok) throw new BadRequestException(`invalid domain ${describeValue(domain)}: ${name.reason}`);
    return this.lookups.lookup(name.value);
  }

  @ApiRoute({
    tag: 'Domains',
    summary: 'Status and counts of up to 1000 domains',
    body: { content: json(ref('LookupRequest')) },
    ok: { 200: { description: 'One result per name asked for, in the same order.', content: json(ref('LookupResults')) } },
    errors: [400, 413, 415, 503],
    batch: true,
  })
  @Post('lookup')
  @HttpCode(200)
  async lookupMany(@Body() body: unknown): Promise<{ results: DomainReport[] }> {
    const domains = (body as { domains?: unknown } | null)?.domains;
    if (typeof body !== 'object' || body === null || !Array.isArray(domains)) {
      throw new BadRequestException('body must be a JSON object like {"domains":["a.com","b.org"]}');
    }
    if (domains.length > MAX_LOOKUP_DOMAINS) {
      throw new BadRequestException(`a lookup holds at most ${MAX_LOOKUP_DOMAINS} domains, got ${domains.length}`);
    }
    if (domains.length === 0) return { results: [] };
    const names: DomainName[] = [];
    const errors: ItemError[] = [];
    let invalid = 0;
    domains.forEach((raw, index) => {
      const name = parseDomainName(raw);
      if (name.ok) names.push(name.value);
      else if (++invalid <= MAX_REPORTED) errors.push({ index, reason: `invalid domain ${describeValue(raw)}: ${name.reason}` });
    });
    if (invalid > 0) {
      throw new BadRequestException({ message: `${invalid} of ${domains.length} domains are invalid`, invalid, errors });
    }
    return { results: await this.lookups.lookupMany(names) };
  }
}
