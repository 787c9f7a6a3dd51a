// GET /stats: exact totals of the store (domains per status, events per type),
// kept by the flushes themselves, so one short read answers however many
// domains there are. Events still buffered (not yet flushed) are not in them;
// at a quiet moment they equal a full count.
import { Controller, Get, Inject } from '@nestjs/common';
import { StoreStats } from '../../business/models';
import { StoreStatsSource } from '../../business/ports';
import { ApiRoute, json } from '../openapi/api-route.decorator';
import { ref } from '../openapi/schemas';

@Controller('stats')
export class StatsController {
  constructor(@Inject(StoreStatsSource) private readonly stats: StoreStatsSource) {}

  @ApiRoute({
    tag: 'Domains',
    summary: 'Exact totals: domains per status, events per type',
    description: 'Kept by the flushes from their deltas and transitions (one short read, never a count of the domains). Equal to a full count at any quiet moment.',
    ok: { 200: { description: 'The totals.', content: json(ref('Stats')) } },
    errors: [503],
  })
  @Get()
  read(): Promise<StoreStats> {
    return this.stats.read();
  }
}
