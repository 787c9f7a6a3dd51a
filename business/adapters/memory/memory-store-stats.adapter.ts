// Store stats for the memory store: counters in this process, updated by the
// memory counter store's apply for each domain it touches.
import { Counts, StoreStats, countFlushedDomain, emptyStats } from '../../models';
import { StoreStatsSource } from '../../ports';

export class MemoryStoreStats extends StoreStatsSource {
  private readonly stats = emptyStats();

  constructor(private readonly threshold: number) {
    super();
  }

  /** One domain of an applied batch: its new totals, its delta, and whether it is new. */
  record(totals: Counts, delta: Counts, created: boolean): void {
    countFlushedDomain(this.stats, totals, delta, created, this.threshold);
  }

  async read(): Promise<StoreStats> {
    return structuredClone(this.stats);
  }
}
