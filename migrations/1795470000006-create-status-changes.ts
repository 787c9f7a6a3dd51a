// status_changes: the outbox of status transitions, written by the flush upsert
// in the same statement as the counts (exactly once, see
// business/adapters/postgres/transition-upsert.sql.ts). change_feed_head holds
// the last id handed out; a flush with transitions takes ids under that one
// row's lock, held until commit, so ids become visible in commit order and a
// reader of `id > cursor` never sees a lower id appear later.
//
// On Citus both are distributed (migrations/citus.ts): status_changes by id
// (its primary key must hold the distribution column), change_feed_head by its
// one-value key.
// Not reference tables: Citus serialises every statement that modifies a
// reference table, even one that changes no row, so every flush would wait for
// the one before (test/postgres-change-feed.int-spec.ts checks that a flush
// without transitions does not wait on the head).
import { MigrationInterface, QueryRunner } from 'typeorm';
import { distributeIfCitus } from './citus';

export class CreateStatusChanges1795470000006 implements MigrationInterface {
  name = 'CreateStatusChanges1795470000006';

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
        k int PRIMARY KEY DEFAULT 1 CHECK (k = 1),
        last_id bigint NOT NULL
      )
    `);
    await q.query('INSERT INTO change_feed_head (k, last_id) VALUES (1, 0)');
    await distributeIfCitus(q, 'status_changes', 'id', { colocateWith: 'none' });
    await distributeIfCitus(q, 'change_feed_head', 'k', { colocateWith: 'none' });
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE change_feed_head');
    await q.query('DROP TABLE status_changes');
  }
}
