// Runs the schema migrations of a DataSource. Several nodes may start at once
// against one database, so every run holds a PostgreSQL advisory lock: the first
// node migrates, the others wait and then find nothing pending. The lock and the
// migrations share one connection, so this works with a pool of one.
import { DataSource, MigrationExecutor, QueryRunner } from 'typeorm';

/** Arbitrary, fixed key of the advisory lock ("catchall" in ASCII). */
const MIGRATION_LOCK_KEY = 0x6361_7463_6861;

export interface MigrationState {
  name: string;
  applied: boolean;
}

/** Applies every pending migration; returns the names applied. */
export function migrateUp(dataSource: DataSource): Promise<string[]> {
  return withMigrationLock(dataSource, async (executor) => {
    const done = await executor.executePendingMigrations();
    return done.map((m) => m.name);
  });
}

/** Reverts the most recent migration; returns its name, or undefined when none was applied. */
export function migrateDown(dataSource: DataSource): Promise<string | undefined> {
  return withMigrationLock(dataSource, async (executor) => {
    const executed = await executor.getExecutedMigrations();
    if (executed.length === 0) return undefined;
    const last = executed.reduce((a, b) => (b.timestamp > a.timestamp ? b : a));
    await executor.undoLastMigration();
    return last.name;
  });
}

/** Every known migration, oldest first, and whether it is applied. */
export function migrationStatus(dataSource: DataSource): Promise<MigrationState[]> {
  return withMigrationLock(dataSource, async (executor) => {
    const executed = new Set((await executor.getExecutedMigrations()).map((m) => m.name));
    // getAllMigrations is the public (if deprecated) way to list them; getMigrations is protected.
    return (await executor.getAllMigrations())
      .sort((a, b) => a.timestamp - b.timestamp)
      .map((m) => ({ name: m.name, applied: executed.has(m.name) }));
  });
}

async function withMigrationLock<T>(dataSource: DataSource, fn: (executor: MigrationExecutor) => Promise<T>): Promise<T> {
  const runner: QueryRunner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      return await fn(executor);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}
