// domains.status (0 unknown, 1 catch-all, 2 not catch-all), written by every
// upsert with the threshold in force, and an index on (status, name) of the
// classified domains (status > 0): listing catch-all or not catch-all domains
// is then a range scan of that index, however rare the status (without it, a page of a rare status walked the whole table: 39 s
// at 10M domains, docs/api.md). Updates that keep the status stay HOT, since no
// indexed column changes. Unknown domains (every new domain) are left out of
// the index: indexing them made a flush of new domains write a second index
// entry per row, and cost the PUT benchmark a third of its throughput; listing
// unknown domains walks the primary key (they are the common status). Existing rows are classified with the default
// threshold (1000). On Citus ALTER TABLE and CREATE INDEX reach every shard.
import { MigrationInterface, QueryRunner } from 'typeorm';

export class AddDomainStatus1795470000009 implements MigrationInterface {
  name = 'AddDomainStatus1795470000009';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE domains ADD COLUMN status smallint NOT NULL DEFAULT 0');
    await q.query(
      'UPDATE domains SET status = CASE WHEN bounced >= 1 THEN 2 ELSE 1 END WHERE bounced >= 1 OR delivered > 1000',
    );
    await q.query('CREATE INDEX domains_status_name ON domains (status, name) WHERE status > 0');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX domains_status_name');
    await q.query('ALTER TABLE domains DROP COLUMN status');
  }
}
