// domain_stats: exact totals (domains per status, events per type) in slots
// that flushes add to, so /stats never counts the domains table. Each writer
// lane of a counter store (a flush_fences row) has its own slot, updated in the
// flush's statement (no two flushes share a row, so none waits for another);
// the sum of every slot is the answer. Slots of lanes gone for good are folded
// into the 'base' slot when a store opens (postgres-store-stats.adapter.ts).
// On Citus the table is distributed by slot and co-located with flush_fences,
// so a lane's fence and stats rows are on one shard.
//
// The status counts follow CATCHALL_THRESHOLD as it was at each flush; on an
// existing database this migration seeds 'base' with a full count under the
// default threshold (1000).
import { MigrationInterface, QueryRunner } from 'typeorm';
import { distributeIfCitus } from './citus';

export class CreateDomainStats1795470000007 implements MigrationInterface {
  name = 'CreateDomainStats1795470000007';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE domain_stats (
        slot text PRIMARY KEY,
        unknown bigint NOT NULL DEFAULT 0,
        catch_all bigint NOT NULL DEFAULT 0,
        not_catch_all bigint NOT NULL DEFAULT 0,
        delivered bigint NOT NULL DEFAULT 0,
        bounced bigint NOT NULL DEFAULT 0
      ) WITH (fillfactor = 50)
    `);
    await distributeIfCitus(q, 'domain_stats', 'slot', { colocateWith: 'flush_fences' });
    await q.query(`
      INSERT INTO domain_stats (slot, unknown, catch_all, not_catch_all, delivered, bounced)
      SELECT 'base',
        count(*) FILTER (WHERE bounced = 0 AND delivered <= 1000),
        count(*) FILTER (WHERE bounced = 0 AND delivered > 1000),
        count(*) FILTER (WHERE bounced >= 1),
        coalesce(sum(delivered), 0),
        coalesce(sum(bounced), 0)
      FROM domains
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE domain_stats');
  }
}
