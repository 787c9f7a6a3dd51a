// On a Citus coordinator: shard `domains` by `name` (every statement of the
// store names its rows by name, so each row lives on one shard and the upsert's
// ON CONFLICT (name) is on the distribution column) and `flush_fences` by
// `node` (each writer lane updates only its own row, routed to one shard). A
// flush's fence advance and count upsert are still one distributed transaction
// (two-phase commit across the nodes involved).
//
// Why not a reference table for flush_fences: Citus serialises writes to a
// reference table's shard (every node holds a copy), so every flush of every
// service node would wait for the one before; measured, 4 concurrent flushers
// then wrote fewer rows/s than one (docs/benchmarks.md, "Citus write path").
// On plain PostgreSQL this migration does nothing. See migrations/citus.ts.
import { MigrationInterface, QueryRunner } from 'typeorm';
import { distributeIfCitus, undistributeIfCitus } from './citus';

export class DistributeOnCitus1795470000002 implements MigrationInterface {
  name = 'DistributeOnCitus1795470000002';

  async up(q: QueryRunner): Promise<void> {
    await distributeIfCitus(q, 'domains', 'name');
    // Its own co-location group: it is never joined with domains (and its key's collation differs).
    await distributeIfCitus(q, 'flush_fences', 'node', { colocateWith: 'none' });
  }

  async down(q: QueryRunner): Promise<void> {
    await undistributeIfCitus(q, 'flush_fences');
    await undistributeIfCitus(q, 'domains');
  }
}
