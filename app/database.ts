// Which PostgreSQL the service (and the migrate command) talks to: DATABASE_URL
// when set, else the embedded server under the project's .data/ directory.
import { maskUrl } from '../foundation/config/env';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { embeddedBinDir, EmbeddedPostgres, startEmbeddedPostgres } from '../business/adapters/postgres/embedded-postgres';
import { AppConfig } from './config';

const EMBEDDED_DATABASE = 'catchall';

export interface Database {
  url: string;
  /** Set when this process started (or took over) the embedded server; stop it last. */
  embedded?: EmbeddedPostgres;
}

export async function openDatabase(
  config: Pick<AppConfig, 'DATABASE_URL' | 'EMBEDDED_PG_PORT' | 'EMBEDDED_PG_DIR'>,
  log: (msg: string) => void,
): Promise<Database> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL };
  const dataDir = config.EMBEDDED_PG_DIR ?? join(projectRoot(), '.data', 'postgres');
  const started = Date.now();
  const embedded = await startEmbeddedPostgres({ dataDir, port: config.EMBEDDED_PG_PORT, database: EMBEDDED_DATABASE });
  log(
    `embedded PostgreSQL ${embedded.adopted ? 'taken over (left running by an earlier process)' : 'started'} ` +
      `in ${Date.now() - started} ms: data ${embedded.dataDir}, log ${embedded.logFile}, url ${maskUrl(embedded.url)}`,
  );
  return { url: embedded.url, embedded };
}

/**
 * Fails before the server starts when the embedded PostgreSQL is needed but
 * not installed (a production install leaves out the optional dependency
 * embedded-postgres: the image has a DATABASE_URL). One line, not a stack
 * trace from inside dependency injection.
 */
export function assertDatabaseAvailable(config: Pick<AppConfig, 'STORE' | 'DATABASE_URL'>): void {
  if (config.STORE === 'postgres' && !config.DATABASE_URL) embeddedBinDir();
}

export { maskUrl };

/** The directory holding package.json, from compiled (dist/app) or source (app) code. */
function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}
