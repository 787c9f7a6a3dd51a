// On a Citus coordinator: shard `domains` by `name` (every statement of the
// store names its rows by name, so each row lives on one shard and the upsert's
// ON CONFLICT (name) is on the distribution column) and make `flush_fences` a
// reference table (one small row per writer, replicated to every node, so the
// fence advance and the count upsert commit in one distributed transaction).
// On plain PostgreSQL this migration does nothing. See migrations/citus.ts.
import { MigrationInterface, QueryRunner } from 'typeorm';
import { distributeIfCitus, referenceIfCitus, undistributeIfCitus } from './citus';

export class DistributeOnCitus1795470000002 implements MigrationInterface {
  name = 'DistributeOnCitus1795470000002';

  async up(q: QueryRunner): Promise<void> {
    await distributeIfCitus(q, 'domains', 'name');
    await referenceIfCitus(q, 'flush_fences');
  }

  async down(q: QueryRunner): Promise<void> {
    await undistributeIfCitus(q, 'flush_fences');
    await undistributeIfCitus(q, 'domains');
  }
}
