// flush_fences: one row per running store (node), holding the sequence number
// of its last flush. Every flush upsert advances it in the same statement, so
// after a flush whose outcome is unknown (the connection died around the
// commit) the node can tell whether it was stored, and fence it off if it was
// not, instead of storing it twice when it retries. See the postgres adapter.
import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateFlushFences1795470000001 implements MigrationInterface {
  name = 'CreateFlushFences1795470000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE flush_fences (
        node text PRIMARY KEY,
        seq bigint NOT NULL,
        fenced boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now()
      ) WITH (fillfactor = 50)
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE flush_fences');
  }
}
