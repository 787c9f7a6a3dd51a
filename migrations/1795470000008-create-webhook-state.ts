// webhook_cursors: per webhook endpoint (its key, a hash of the URL) the last
// feed id it acknowledged and which node delivers to it (lease owner and
// expiry). webhook_failures: deliveries parked after their last attempt.
//
// On Citus both stay plain tables of the coordinator (no create_distributed_table,
// no reference table): they hold a row per endpoint and a row per parked
// delivery, written a few times a second at most, and the lease SQL uses now()
// in ON CONFLICT … DO UPDATE, which Citus refuses on distributed tables. A
// reference table would also serialise its writes across the cluster.
import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateWebhookState1795470000008 implements MigrationInterface {
  name = 'CreateWebhookState1795470000008';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_cursors (
        endpoint text PRIMARY KEY,
        cursor bigint NOT NULL DEFAULT 0,
        lease_owner text,
        lease_until timestamptz NOT NULL DEFAULT now()
      )
    `);
    await q.query(`
      CREATE TABLE webhook_failures (
        endpoint text NOT NULL,
        change_id bigint NOT NULL,
        attempts int NOT NULL,
        last_error text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (endpoint, change_id)
      )
    `);
    await q.query('CREATE INDEX webhook_failures_at ON webhook_failures (at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE webhook_failures');
    await q.query('DROP TABLE webhook_cursors');
  }
}
