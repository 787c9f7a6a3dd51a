// idempotency_keys: one row per Idempotency-Key of POST /events, written in
// the same transaction as the batch's counts (see the postgres adapter's
// idempotent-batch store), with the request's fingerprint (hex SHA-256) and
// the answer replayed to retries. Rows past expires_at count as absent and are
// deleted in small batches by the service (the expires_at index finds them).
// On Citus the table is sharded by key in a co-location group of its own (a
// keyed batch touches one key row and its domains' shards: one distributed
// transaction).
import { MigrationInterface, QueryRunner } from 'typeorm';
import { distributeIfCitus, undistributeIfCitus } from './citus';

export class CreateIdempotencyKeys1795470000005 implements MigrationInterface {
  name = 'CreateIdempotencyKeys1795470000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE idempotency_keys (
        key text COLLATE "C" PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 255),
        fingerprint text NOT NULL,
        status integer NOT NULL,
        response text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )
    `);
    await q.query('CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at)');
    await distributeIfCitus(q, 'idempotency_keys', 'key', { colocateWith: 'none' });
  }

  async down(q: QueryRunner): Promise<void> {
    await undistributeIfCitus(q, 'idempotency_keys');
    await q.query('DROP TABLE idempotency_keys');
  }
}
