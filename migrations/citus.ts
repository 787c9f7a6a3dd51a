// Citus support for migrations: the same migrations run on plain PostgreSQL and
// on a Citus coordinator. Where the `citus` extension is installed in the
// database, a table is distributed (sharded by a column, create_distributed_table)
// or made a reference table (a full copy on every node, create_reference_table);
// on plain PostgreSQL these helpers do nothing. Each is idempotent: a table
// that already has the wanted layout is left alone, so running migrations twice
// works. A migration that creates a table calls one of them right after its
// CREATE TABLE (and undistributeIfCitus before a DROP is not needed: DROP TABLE
// drops the shards too).
import { QueryRunner } from 'typeorm';

/** True when this database has the citus extension (it is a Citus coordinator). */
export async function isCitus(q: QueryRunner): Promise<boolean> {
  const rows = await q.query("SELECT 1 FROM pg_extension WHERE extname = 'citus'");
  return rows.length > 0;
}

/**
 * Shards `table` by `column` (hash distribution) on Citus. By default Citus
 * co-locates it with tables of the same column type and collation (their
 * shards of a value on one node, for joins and writes on that column); pass
 * colocateWith: 'none' for a table that is never joined with the others, or
 * the name of the table to co-locate with.
 */
export async function distributeIfCitus(
  q: QueryRunner,
  table: string,
  column: string,
  options: { colocateWith?: string } = {},
): Promise<boolean> {
  if (!(await isCitus(q))) return false;
  if ((await layoutOf(q, table)) === 'h') return false;
  await q.query('SELECT create_distributed_table($1::regclass, $2, colocate_with => $3)', [
    table,
    column,
    options.colocateWith ?? 'default',
  ]);
  return true;
}

/**
 * Makes `table` a reference table on Citus: a full copy on every node, for a
 * small table that is mostly read (joined with any distributed table locally).
 * Citus serialises writes to a reference table, so a table that every request
 * or flush writes is better distributed by the column its writes name.
 */
export async function referenceIfCitus(q: QueryRunner, table: string): Promise<boolean> {
  if (!(await isCitus(q))) return false;
  if ((await layoutOf(q, table)) === 'n') return false;
  await q.query('SELECT create_reference_table($1::regclass)', [table]);
  return true;
}

/** Turns a distributed or reference table back into a plain table of the coordinator (for a migration's down). */
export async function undistributeIfCitus(q: QueryRunner, table: string): Promise<boolean> {
  if (!(await isCitus(q))) return false;
  if ((await layoutOf(q, table)) === undefined) return false;
  await q.query('SELECT undistribute_table($1::regclass)', [table]);
  return true;
}

/** pg_dist_partition.partmethod: 'h' hash-distributed, 'n' reference; undefined for a plain table. */
async function layoutOf(q: QueryRunner, table: string): Promise<string | undefined> {
  const rows: Array<{ partmethod: string }> = await q.query(
    'SELECT partmethod FROM pg_dist_partition WHERE logicalrelid = $1::regclass',
    [table],
  );
  return rows[0]?.partmethod;
}
