// The status-change feed, in two tables (see business/adapters/postgres/
// change-sequencer.ts for why):
// - status_changes_outbox: transitions written by the flush, in the same
//   transaction as the counts (exactly once, recorded-flush.ts), without a
//   feed position yet. Its rows live only until the sequencer moves them.
//   On Citus it is distributed by domain and co-located with `domains`, so a
//   flush writes a domain's transition on the shard that holds its counts, and
//   a domain's transitions are always on one node (one snapshot orders them).
// - status_changes: the feed, each change with its position `id`, handed out
//   by the sequencer in one transaction at a time under change_feed_head's row
//   lock; change_feed_head keeps the last id (rows may be pruned, ids never
//   reused). On Citus both stay plain tables of the coordinator: a reader must
//   never see a higher id committed before a lower one, which rows spread over
//   workers (each committing its part of a two-phase commit on its own) would
//   allow. Only the sequencer writes them, so nothing on the flush path waits.
import { MigrationInterface, QueryRunner } from 'typeorm';
import { distributeIfCitus } from './citus';

export class CreateStatusChanges1795470000006 implements MigrationInterface {
  name = 'CreateStatusChanges1795470000006';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE status_changes_outbox (
        domain text COLLATE "C" NOT NULL,
        delivered bigint NOT NULL,
        bounced bigint NOT NULL,
        from_status text NOT NULL,
        to_status text NOT NULL,
        at timestamptz NOT NULL,
        PRIMARY KEY (domain, delivered, bounced)
      )
    `);
    await distributeIfCitus(q, 'status_changes_outbox', 'domain', { colocateWith: 'domains' });
    await q.query(`
      CREATE TABLE status_changes (
        id bigint PRIMARY KEY,
        domain text NOT NULL,
        from_status text NOT NULL,
        to_status text NOT NULL,
        delivered bigint NOT NULL,
        bounced bigint NOT NULL,
        at timestamptz NOT NULL
      )
    `);
    await q.query('CREATE INDEX status_changes_at ON status_changes (at)');
    await q.query(`
      CREATE TABLE change_feed_head (
        k int PRIMARY KEY DEFAULT 1 CHECK (k = 1),
        last_id bigint NOT NULL
      )
    `);
    await q.query('INSERT INTO change_feed_head (k, last_id) VALUES (1, 0)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE change_feed_head');
    await q.query('DROP TABLE status_changes');
    await q.query('DROP TABLE status_changes_outbox');
  }
}
