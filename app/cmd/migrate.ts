// migrate: applies, reverts or lists the schema migrations (migrations/).
//   npx tsx app/cmd/migrate.ts up|down|status
// Uses DATABASE_URL; without it, the embedded PostgreSQL of .data/ (started for
// the command and stopped after, unless a running service already had it up).
import { DataSource } from 'typeorm';
import { migrateDown, migrateUp, migrationStatus } from '../../business/adapters/postgres/migrate';
import { ConfigError } from '../../foundation/config/env';
import { migrationDataSource } from '../../migrations/data-source';
import { loadAppConfig } from '../config';
import { Database, maskUrl, openDatabase } from '../database';

const USAGE = 'usage: migrate up|down|status';

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const command = argv[0];
  if (command !== 'up' && command !== 'down' && command !== 'status') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let db: Database | undefined;
  let dataSource: DataSource | undefined;
  try {
    const config = loadAppConfig(process.env);
    db = await openDatabase(config, (msg) => process.stderr.write(`${msg}\n`));
    process.stderr.write(`database: ${maskUrl(db.url)}\n`);
    dataSource = migrationDataSource(db.url);
    await dataSource.initialize();
    if (command === 'up') {
      const applied = await migrateUp(dataSource);
      process.stdout.write(applied.length ? applied.map((n) => `applied ${n}\n`).join('') : 'nothing to apply\n');
    } else if (command === 'down') {
      const reverted = await migrateDown(dataSource);
      process.stdout.write(reverted ? `reverted ${reverted}\n` : 'nothing to revert\n');
    } else {
      for (const m of await migrationStatus(dataSource)) process.stdout.write(`[${m.applied ? 'X' : ' '}] ${m.name}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(
      `migrate: ${err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  } finally {
    if (dataSource?.isInitialized) await dataSource.destroy();
    if (db?.embedded && !db.embedded.adopted) await db.embedded.stop();
  }
}

if (require.main === module) void main().then((code) => (process.exitCode = code));
