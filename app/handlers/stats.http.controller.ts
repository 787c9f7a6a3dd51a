// GET /stats: exact totals of the store (domains per status, events per type),
// kept by the flushes themselves, so one short read answers however many
// domains there are. Events still buffered (not yet flushed) are not in them;
// at a quiet moment they equal a full count.
import { Controller, Get, Inject } from '@nestjs/common';
import { StoreStats } from '../../business/models';
import { StoreStatsSource } from '../../business/ports';

@Controller('stats')
export class StatsController {
  constructor(@Inject(StoreStatsSource) private readonly stats: StoreStatsSource) {}

  @Get()
  read(): Promise<StoreStats> {
    return this.stats.read();
  }
}
