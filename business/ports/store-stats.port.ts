// The store-stats port: exact totals of the counter store (domains per status,
// events per type), kept by the store's own writes so that reading them costs
// the same at ten domains as at ten million. Adapters: business/adapters/memory
// (counters in this process), business/adapters/postgres (sums kept in flush_fences).
import { StoreStats } from '../models';

export abstract class StoreStatsSource {
  abstract read(): Promise<StoreStats>;
}
