// The domains table: one row per domain, its two counters and when they last
// changed. Names are ASCII (punycode), so they use the "C" collation: byte
// comparisons in the primary key, whatever the server's default locale, and the
// same order as the adapter's sort. fillfactor 70 leaves room in each page so
// that the constant counter updates are HOT updates (no primary-key index
// churn, less bloat), and autovacuum runs earlier than its default on this
// update-heavy table. The checks make a negative count impossible at the source.
import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateDomains1795470000000 implements MigrationInterface {
  name = 'CreateDomains1795470000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE domains (
        name text COLLATE "C" PRIMARY KEY,
        delivered bigint NOT NULL DEFAULT 0 CHECK (delivered >= 0),
        bounced bigint NOT NULL DEFAULT 0 CHECK (bounced >= 0),
        updated_at timestamptz NOT NULL DEFAULT now()
      ) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.05)
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE domains');
  }
}
