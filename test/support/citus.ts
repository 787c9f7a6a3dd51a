// A throwaway Citus cluster for the integration tests: a coordinator and two
// workers, each a PostgreSQL server of its own (foundation/postgres/local-postgres,
// so it runs as the `postgres` OS account when this process is root) on a free
// loopback port, with `shared_preload_libraries = 'citus'` and fsync off, like
// test/support/postgres.ts.
//
// Citus needs its extension in every database on every node, so
// createDatabase(name) creates the database on all three nodes, installs the
// extension in each, and registers the coordinator and the workers in it (node
// metadata is per database). The service and the tests only ever connect to the
// coordinator's URL.
//
// global-setup starts one shared cluster, when the run selects a test file that
// uses it, and exports its coordinator URL as TEST_CITUS_URL (the worker URLs
// as TEST_CITUS_WORKER_URLS); test files make their own database with
// createCitusTestDatabase(). A test that stops nodes
// (durability) starts a cluster of its own with startTestCitus().
//
// Citus is not optional here: when the extension is missing, every test that
// needs the cluster fails with a message that says how to install it (CI does,
// in .ci/run).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { LocalPostgres, StopMode } from '../../foundation/postgres/local-postgres';
import { freePort } from './free-port';
import { assertTestDatabaseName, createTestDatabase, postgresBinDir, TEST_DATA_DIR } from './postgres';

const URL_ENV = 'TEST_CITUS_URL';
const WORKERS_ENV = 'TEST_CITUS_WORKER_URLS';
const ERROR_ENV = 'TEST_CITUS_ERROR';
const SHARED_KEY = '__catchallTestCitus';
const WORKERS = 2;
/** Connections a coordinator backend keeps open to each worker between statements (see the settings below). */
const CACHED_CONNS_PER_WORKER = 16;
/** Shards per distributed table on the test cluster. */
const SHARD_COUNT = 8;

export interface TestCitus {
  /** URL of the coordinator's maintenance database (postgres). */
  url: string;
  /** URL of another database on the coordinator. */
  urlOf(database: string): string;
  /** The workers' URLs (maintenance database). */
  workerUrls: string[];
  /** Creates (or recreates, empty) a database on every node, with Citus set up in it; returns its coordinator URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops every node, keeping their data (immediate: like a crash). */
  stop(mode?: StopMode): Promise<void>;
  /** Starts every node again on the same ports with the same data. */
  restart(): Promise<void>;
  /** Stops one worker (0 or 1), keeping its data. */
  stopWorker(index: number, mode?: StopMode): Promise<void>;
  /** Starts that worker again. */
  restartWorker(index: number): Promise<void>;
  /** Stops every node and deletes their data. */
  destroy(): Promise<void>;
}

/** Starts a coordinator and two workers of their own, on free loopback ports. */
export async function startTestCitus(): Promise<TestCitus> {
  assertCitusInstalled();
  const binDir = postgresBinDir();
  const start = async (role: string): Promise<{ server: LocalPostgres; dataDir: string }> => {
    const port = await freePort();
    // The "pg-<pid>-<port>" prefix lets test/support/postgres.ts clean it up after a killed run.
    const dataDir = join(TEST_DATA_DIR, `pg-${process.pid}-${port}-citus-${role}`);
    const server = await LocalPostgres.start({
      binDir,
      dataDir,
      port,
      fastInit: true,
      settings: {
        shared_preload_libraries: 'citus',
        fsync: 'off',
        full_page_writes: 'off',
        synchronous_commit: 'on',
        max_connections: 300,
        shared_buffers: '64MB',
        // Prepared transactions are how Citus commits a multi-node write (2PC).
        max_prepared_transactions: 200,
        // One box, two cores: keep the coordinator's parallelism towards the workers small.
        'citus.max_adaptive_executor_pool_size': 4,
        // A flush writes to every shard; Citus's INSERT … SELECT sends rows to
        // each shard over a connection of its own. With the default (1 cached
        // connection per worker) every flush opens new backends on the workers,
        // which made 10,000-row flushes 6x slower here, at 5-6x the CPU
        // (docs/benchmarks.md, "Citus write path"). Production clusters need it too.
        'citus.max_cached_conns_per_worker': CACHED_CONNS_PER_WORKER,
        // Shards of a table distributed here (the default is 32). Every flush
        // writes to every shard; 4 shards per worker on this two-worker,
        // two-core cluster was 1.6-2x faster than 16 (docs/benchmarks.md) and
        // still makes each flush a multi-shard, multi-node transaction.
        'citus.shard_count': SHARD_COUNT,
        // A worker that crashed between PREPARE and COMMIT PREPARED keeps the
        // prepared transaction (and its row locks, the fence row's included)
        // until the coordinator's recovery finishes it: every minute by
        // default; every 2 s here, so a durability test sees recovery promptly.
        'citus.recover_2pc_interval': '2s',
        // Node-to-node connections on loopback: no TLS (as root, the server's
        // inherited HOME would point libpq at a client certificate it cannot read).
        'citus.node_conninfo': 'sslmode=disable',
      },
    });
    return { server, dataDir };
  };
  // One after the other: initdb of three nodes at once takes the whole (small) machine.
  const coordinator = await start('coordinator');
  const workers: Array<{ server: LocalPostgres; dataDir: string }> = [];
  try {
    for (let i = 0; i < WORKERS; i++) workers.push(await start(`worker${i}`));
  } catch (err) {
    for (const n of [coordinator, ...workers]) await n.server.stop('immediate').catch(() => undefined);
    throw err;
  }
  const nodes = [coordinator, ...workers];
  const cluster: TestCitus = {
    url: coordinator.server.url('postgres'),
    urlOf: (db) => coordinator.server.url(db),
    workerUrls: workers.map((w) => w.server.url('postgres')),
    createDatabase: (name) => createCitusDatabase(coordinator.server, workers.map((w) => w.server), name),
    stop: async (mode) => {
      for (const n of nodes) await n.server.stop(mode);
    },
    restart: async () => {
      for (const n of nodes) await n.server.restart();
    },
    stopWorker: (i, mode) => workers[i].server.stop(mode),
    restartWorker: (i) => workers[i].server.restart(),
    destroy: async () => {
      for (const n of nodes) {
        await n.server.stop('immediate');
        await rm(n.dataDir, { recursive: true, force: true });
      }
    },
  };
  await setUpDatabase(coordinator.server, workers.map((w) => w.server), 'postgres');
  return cluster;
}

/**
 * global-setup: the cluster every Citus test file shares, as TEST_CITUS_URL.
 * When it cannot start (Citus missing), the reason goes to TEST_CITUS_ERROR and
 * every test that asks for a Citus database fails with it; the others run.
 */
export async function startSharedCitus(): Promise<void> {
  if (process.env[URL_ENV]) return;
  try {
    const cluster = await startTestCitus();
    (globalThis as Record<string, unknown>)[SHARED_KEY] = cluster;
    process.env[URL_ENV] = cluster.url;
    process.env[WORKERS_ENV] = cluster.workerUrls.join(',');
  } catch (err) {
    process.env[ERROR_ENV] = `the test Citus cluster did not start: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * Whether any test file this jest run selects uses the Citus cluster (imports
 * this module), so a run of other files does not pay for starting it.
 * @param testPathPatterns jest's path patterns (none: every file)
 */
export function runNeedsCitus(testPathPatterns: readonly string[], testDir = join(__dirname, '..')): boolean {
  const patterns = testPathPatterns.map((p) => new RegExp(p, 'i'));
  return readdirSync(testDir)
    .filter((f) => f.endsWith('.int-spec.ts'))
    .map((f) => join(testDir, f))
    .filter((path) => patterns.length === 0 || patterns.some((p) => p.test(path)))
    .some((path) => readFileSync(path, 'utf8').includes('support/citus'));
}

/** global-teardown. */
export async function stopSharedCitus(): Promise<void> {
  const cluster = (globalThis as Record<string, unknown>)[SHARED_KEY] as TestCitus | undefined;
  if (!cluster) return;
  delete (globalThis as Record<string, unknown>)[SHARED_KEY];
  await cluster.destroy();
}

/**
 * Creates an empty database (dropping any left from an earlier run) on every
 * node of the shared cluster, with Citus set up in it, and returns its
 * coordinator URL. The name must contain "test".
 */
export async function createCitusTestDatabase(name: string): Promise<string> {
  const coordinatorUrl = process.env[URL_ENV];
  const workerUrls = process.env[WORKERS_ENV]?.split(',').filter(Boolean) ?? [];
  if (process.env[ERROR_ENV]) throw new Error(process.env[ERROR_ENV]);
  if (!coordinatorUrl || workerUrls.length === 0) {
    throw new Error(`${URL_ENV} is not set: run the integration tests through jest (global-setup starts the Citus cluster)`);
  }
  assertTestDatabaseName(name);
  for (const url of [coordinatorUrl, ...workerUrls]) await recreate(url, name);
  await addNodes(withDatabase(coordinatorUrl, name), workerUrls);
  return withDatabase(coordinatorUrl, name);
}

async function createCitusDatabase(coordinator: LocalPostgres, workers: LocalPostgres[], name: string): Promise<string> {
  assertTestDatabaseName(name);
  for (const node of [coordinator, ...workers]) await recreate(node.url('postgres'), name);
  await addNodes(coordinator.url(name), workers.map((w) => w.url('postgres')));
  return coordinator.url(name);
}

async function setUpDatabase(coordinator: LocalPostgres, workers: LocalPostgres[], name: string): Promise<void> {
  for (const node of workers) await query(node.url(name), ['CREATE EXTENSION IF NOT EXISTS citus']);
  await addNodes(coordinator.url(name), workers.map((w) => w.url('postgres')));
}

/** Drops and creates `name` on one node, with the citus extension in it. */
async function recreate(serverUrl: string, name: string): Promise<void> {
  await query(await createTestDatabase(name, serverUrl), ['CREATE EXTENSION IF NOT EXISTS citus']);
}

/** On the coordinator's database: the extension, the coordinator's own address, and each worker. */
async function addNodes(coordinatorDbUrl: string, workerUrls: string[]): Promise<void> {
  const c = new URL(coordinatorDbUrl);
  const statements = [
    'CREATE EXTENSION IF NOT EXISTS citus',
    `SELECT citus_set_coordinator_host('${c.hostname}', ${Number(c.port)})`,
  ];
  for (const w of workerUrls) {
    const u = new URL(w);
    statements.push(`SELECT citus_add_node('${u.hostname}', ${Number(u.port)})`);
  }
  await query(coordinatorDbUrl, statements);
}

async function query(url: string, statements: string[]): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of statements) await client.query(s);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

function assertCitusInstalled(): void {
  const binDir = postgresBinDir();
  const libDir = join(binDir, '..', 'lib');
  if (!existsSync(join(libDir, 'citus.so'))) {
    throw new Error(
      `Citus is not installed for the PostgreSQL in ${binDir} (no ${join(libDir, 'citus.so')}): ` +
        `run ../shared/citus/install.sh as root (.ci/run does), or set PG_BIN_DIR to a PostgreSQL with Citus`,
    );
  }
}
