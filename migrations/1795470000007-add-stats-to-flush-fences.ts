// Exact totals (domains per status, events per type) kept in flush_fences: each
// writer lane's row (the one its fence advances) also sums what the lane's
// flushes added, in the flush's own transaction (business/adapters/postgres/
// recorded-flush.ts), so GET /stats is a sum over the lanes, never a count of
// the domains, and no two flushes share a row. When a lane's row expires (its
// store was not seen for the retention period) its sums move to the 'base' row
// in the same transaction (postgres-counter-store.adapter.ts).
//
// The status counts follow CATCHALL_THRESHOLD as it was at each flush; on an
// existing database this migration seeds 'base' with a full count under the
// default threshold (1000).
import { MigrationInterface, QueryRunner } from 'typeorm';

export class AddStatsToFlushFences1795470000007 implements MigrationInterface {
  name = 'AddStatsToFlushFences1795470000007';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE flush_fences
        ADD COLUMN unknown bigint NOT NULL DEFAULT 0,
        ADD COLUMN catch_all bigint NOT NULL DEFAULT 0,
        ADD COLUMN not_catch_all bigint NOT NULL DEFAULT 0,
        ADD COLUMN delivered bigint NOT NULL DEFAULT 0,
        ADD COLUMN bounced bigint NOT NULL DEFAULT 0
    `);
    await q.query(`
      INSERT INTO flush_fences (node, seq, unknown, catch_all, not_catch_all, delivered, bounced)
      SELECT 'base', 0,
        count(*) FILTER (WHERE bounced = 0 AND delivered <= 1000),
        count(*) FILTER (WHERE bounced = 0 AND delivered > 1000),
        count(*) FILTER (WHERE bounced >= 1),
        coalesce(sum(delivered), 0),
        coalesce(sum(bounced), 0)
      FROM domains
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query("DELETE FROM flush_fences WHERE node = 'base'");
    await q.query(`
      ALTER TABLE flush_fences
        DROP COLUMN unknown, DROP COLUMN catch_all, DROP COLUMN not_catch_all, DROP COLUMN delivered, DROP COLUMN bounced
    `);
  }
}
