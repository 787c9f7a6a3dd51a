// Store stats on PostgreSQL: the sum of the domain_stats slots that flushes add
// to (transition-upsert.sql.ts), one short read however many domains there are.
// Slots of lanes whose flush_fences row is gone (a store not seen for the
// retention period) are folded into the 'base' slot when a store opens, so the
// table stays as small as the number of live lanes.
import type { Pool } from 'pg';
import { StoreStats } from '../../models';
import { StoreStatsSource } from '../../ports';

const READ_SQL = `SELECT coalesce(sum(unknown), 0), coalesce(sum(catch_all), 0), coalesce(sum(not_catch_all), 0),
  coalesce(sum(delivered), 0), coalesce(sum(bounced), 0)
FROM domain_stats`;

const STALE_SQL = `SELECT slot FROM domain_stats s
WHERE slot <> 'base' AND NOT EXISTS (SELECT 1 FROM flush_fences f WHERE f.node = s.slot)`;

const TAKE_SQL = `DELETE FROM domain_stats WHERE slot = ANY($1::text[])
RETURNING unknown, catch_all, not_catch_all, delivered, bounced`;

const ADD_TO_BASE_SQL = `UPDATE domain_stats SET
  unknown = unknown + $1, catch_all = catch_all + $2, not_catch_all = not_catch_all + $3,
  delivered = delivered + $4, bounced = bounced + $5
WHERE slot = 'base'`;

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

  /** Folds the slots of gone lanes into 'base'; returns how many. Safe to run from several nodes at once. */
  async fold(): Promise<number> {
    const stale = await this.pool.query<{ slot: string }>(STALE_SQL);
    if (stale.rows.length === 0) return 0;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // A slot that another node folds at the same time is deleted (and added) by one of the two only.
      const taken = await client.query<Sums>({ text: TAKE_SQL, values: [stale.rows.map((r) => r.slot)], rowMode: 'array' });
      const sums = [0n, 0n, 0n, 0n, 0n];
      for (const row of taken.rows) row.forEach((v, i) => (sums[i] += BigInt(v)));
      if (taken.rows.length > 0) await client.query(ADD_TO_BASE_SQL, sums.map(String));
      await client.query('COMMIT');
      client.release();
      return taken.rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      throw err;
    }
  }
}
