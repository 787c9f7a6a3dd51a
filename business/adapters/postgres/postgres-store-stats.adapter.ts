// Store stats on PostgreSQL: the sums over flush_fences, whose rows (one per
// writer lane, plus 'base' for lanes gone) the flushes add to in their own
// transactions (recorded-flush.ts). One short read however many domains there
// are: as many rows as lanes.
import type { Pool } from 'pg';
import { StoreStats } from '../../models';
import { StoreStatsSource } from '../../ports';

const READ_SQL = `SELECT coalesce(sum(unknown), 0), coalesce(sum(catch_all), 0), coalesce(sum(not_catch_all), 0),
  coalesce(sum(delivered), 0), coalesce(sum(bounced), 0)
FROM flush_fences`;

type Sums = [string, string, string, string, string];

export class PostgresStoreStats extends StoreStatsSource {
  constructor(private readonly pool: Pool) {
    super();
  }

  async read(): Promise<StoreStats> {
    const result = await this.pool.query<Sums>({ text: READ_SQL, rowMode: 'array' });
    const [unknown, catchAll, notCatchAll, delivered, bounced] = result.rows[0].map(Number);
    return {
      domains: { unknown, 'catch-all': catchAll, 'not catch-all': notCatchAll },
      events: { delivered, bounced },
    };
  }
}
