// status_changes: the outbox of status transitions, written by the flush upsert
// in the same statement as the counts (exactly once, see
// business/adapters/postgres/transition-upsert.sql.ts). change_feed_head holds
// the last id handed out; a flush with transitions takes ids under that one
// row's lock, held until commit, so ids become visible in commit order and a
// reader of `id > cursor` never sees a lower id appear later.
//
// On Citus both are reference tables (migrations/citus.ts): they are written
// only by flushes that record transitions (rare: a domain changes status at
// most twice in its life), which the head's lock serialises anyway, and reads
// of the feed then run on the coordinator alone, in id order.
import { MigrationInterface, QueryRunner } from 'typeorm';
import { referenceIfCitus } from './citus';

export class CreateStatusChanges1795470000005 implements MigrationInterface {
  name = 'CreateStatusChanges1795470000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE status_changes (
        id bigint PRIMARY KEY,
        domain text NOT NULL,
        from_status text NOT NULL,
        to_status text NOT NULL,
        delivered bigint NOT NULL,
        bounced bigint NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      )
    `);
    await q.query('CREATE INDEX status_changes_at ON status_changes (at)');
    await q.query(`
      CREATE TABLE change_feed_head (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        last_id bigint NOT NULL
      )
    `);
    await q.query('INSERT INTO change_feed_head (one, last_id) VALUES (true, 0)');
    await referenceIfCitus(q, 'status_changes');
    await referenceIfCitus(q, 'change_feed_head');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE change_feed_head');
    await q.query('DROP TABLE status_changes');
  }
}
