// The postgres adapter against a real PostgreSQL and against a real 3-node
// Citus cluster (the same adapter, SQL and migrations): the counter-store
// contract, flushes whose outcome is unclear (exactly once), and the migrations.
import type { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { createPostgresDataSource, poolOf } from '../business/adapters/postgres/data-source';
import { migrateDown, migrateUp, migrationStatus } from '../business/adapters/postgres/migrate';
import { PostgresCounterStore } from '../business/adapters/postgres/postgres-counter-store.adapter';
import { main as migrateCommand } from '../app/cmd/migrate';
import { MIGRATIONS } from '../migrations';
import { distributeIfCitus, isCitus, referenceIfCitus } from '../migrations/citus';
import { describeCounterStoreContract, deltas } from './contracts/counter-store.contract';
import { createCitusTestDatabase } from './support/citus';
import { createTestDatabase, dropTestDatabase, truncateTestDatabase } from './support/postgres';

let url: string;

function dataSource(poolSize = 8, dbUrl = url): DataSource {
  return createPostgresDataSource({ url: dbUrl, poolSize, migrations: MIGRATIONS });
}

/** The database engines every suite below runs on: plain PostgreSQL and Citus (coordinator + 2 workers). */
const ENGINES: Array<[string, (name: string) => Promise<string>]> = [
  ['postgres', (name) => createTestDatabase(name)],
  ['citus', (name) => createCitusTestDatabase(name)],
];

describe.each(ENGINES)('on %s', (engine, createDatabase) => {
  let dbUrl: string;
  let admin: DataSource;

  async function openStore(): Promise<PostgresCounterStore> {
    // As many connections as the contract's most concurrent test has calls (24):
    // in the service, apply's concurrency is FLUSH_CONCURRENCY, at most the pool
    // size, so no flush waits for a connection; here none should either (on
    // Citus a flush takes longer, and a wait past connectTimeoutMs would fail it).
    const ds = dataSource(24, dbUrl);
    await ds.initialize();
    return PostgresCounterStore.open(ds);
  }

  beforeAll(async () => {
    dbUrl = await createDatabase(`counter_store_${engine}_test`);
    url ??= dbUrl;
    admin = dataSource(2, dbUrl);
    await admin.initialize();
    await migrateUp(admin);
  });

  afterAll(async () => {
    await admin?.destroy();
    // A Citus database lives on three nodes; the shared cluster is deleted whole at the end of the run.
    if (engine === 'postgres' && dbUrl) await dropTestDatabase(dbUrl);
  });

  describeCounterStoreContract(engine, async () => {
    await truncateTestDatabase(admin);
    return openStore();
  });

  describe('postgres store: a flush whose answer is lost', () => {
    let store: PostgresCounterStore;
    let pool: Pool;
    let fault: 'none' | 'after-commit' | 'before-send' = 'none';

    beforeEach(async () => {
      await truncateTestDatabase(admin);
      const ds = dataSource(8, dbUrl);
      await ds.initialize();
      pool = poolOf(ds);
      // Fault injection: the connection "dies" around the upsert.
      const connect = pool.connect.bind(pool) as (cb?: unknown) => Promise<PoolClient> | undefined;
      (pool as unknown as { connect: unknown }).connect = (cb?: unknown) => {
        // pool.query() connects with a callback: leave that path alone.
        if (cb) return connect(cb);
        return (connect() as Promise<PoolClient>).then(wrap);
      };
      const wrap = (client: PoolClient): PoolClient => {
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
        (client as unknown as { query: unknown }).query = async (...args: unknown[]) => {
          const q = args[0] as { name?: string };
          if (q?.name?.startsWith('catchall_upsert') && fault !== 'none') {
            const mode = fault;
            fault = 'none';
            if (mode === 'after-commit') await query(q);
            throw new Error('Connection terminated unexpectedly');
          }
          return query(...args);
        };
        return client;
      };
      store = await PostgresCounterStore.open(ds);
    });

    afterEach(async () => {
      await store.close();
    });

    it('succeeds without storing twice when the flush was committed', async () => {
      await store.apply(deltas({ 'a.com': [1, 0] }));
      fault = 'after-commit';
      const rows = await store.apply(deltas({ 'a.com': [2, 0], 'b.com': [0, 1] }));
      expect(rows.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
        { name: 'a.com', delivered: 3, bounced: 0 },
        { name: 'b.com', delivered: 0, bounced: 1 },
      ]);
      await store.apply(deltas({ 'a.com': [1, 0] }));
      expect((await store.read(['a.com', 'b.com'])).get('a.com')).toEqual({ delivered: 4, bounced: 0 });
    });

    it('likewise without totals (the ingest service does not ask for them)', async () => {
      fault = 'after-commit';
      expect(await store.apply(deltas({ 'a.com': [2, 0] }), { totals: false })).toEqual([]);
      fault = 'before-send';
      await expect(store.apply(deltas({ 'a.com': [5, 0] }), { totals: false })).rejects.toThrow('Connection terminated');
      await store.apply(deltas({ 'a.com': [1, 0] }), { totals: false });
      expect((await store.read(['a.com'])).get('a.com')).toEqual({ delivered: 3, bounced: 0 });
    });

    it('fails when the flush was not committed, and the retry is stored once', async () => {
      fault = 'before-send';
      const batch = deltas({ 'a.com': [2, 0] });
      await expect(store.apply(batch)).rejects.toThrow('Connection terminated');
      expect((await store.read(['a.com'])).size).toBe(0);
      await store.apply(batch);
      expect((await store.read(['a.com'])).get('a.com')).toEqual({ delivered: 2, bounced: 0 });
    });

    it('fences a lost flush so that a late copy of it cannot be stored', async () => {
      fault = 'before-send';
      await expect(store.apply(deltas({ 'a.com': [5, 0] }))).rejects.toThrow();
      // The statement of that flush (sequence 1) arriving late: refused by the fence.
      const late = await pool.query(
        `WITH fence AS (UPDATE flush_fences SET seq = 1 WHERE node = $1 AND seq = 0 RETURNING 1)
         INSERT INTO domains (name, delivered, bounced) SELECT 'a.com', 5, 0 FROM fence RETURNING name`,
        [`${store.node}:0`],
      );
      expect(late.rowCount).toBe(0);
      await store.apply(deltas({ 'a.com': [5, 0] }));
      expect((await store.read(['a.com'])).get('a.com')).toEqual({ delivered: 5, bounced: 0 });
    });
  });
});

describe('migrations', () => {
  let migUrl: string;
  let ds: DataSource;

  beforeAll(async () => {
    migUrl = await createTestDatabase('migrations_test');
    ds = dataSource(4, migUrl);
    await ds.initialize();
  });

  afterAll(async () => {
    await ds?.destroy();
    if (migUrl) await dropTestDatabase(migUrl);
  });

  const tables = async () =>
    (
      await ds.query<{ table_name: string }[]>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('domains', 'flush_fences', 'idempotency_keys', 'status_changes', 'status_changes_outbox', 'change_feed_head') ORDER BY 1",
      )
    ).map((r) => r.table_name);

  it('apply on an empty database (concurrently from two nodes) and revert cleanly', async () => {
    expect(await tables()).toEqual([]);
    const other = dataSource(1, migUrl);
    await other.initialize();
    try {
      const [a, b] = await Promise.all([migrateUp(ds), migrateUp(other)]);
      // One node applied everything, the other found nothing pending.
      expect([...a, ...b].sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
    } finally {
      await other.destroy();
    }
    expect(await tables()).toEqual(['change_feed_head', 'domains', 'flush_fences', 'idempotency_keys', 'status_changes', 'status_changes_outbox']);
    expect((await migrationStatus(ds)).every((m) => m.applied)).toBe(true);

    const columns = await ds.query<{ column_name: string; data_type: string; is_nullable: string }[]>(
      "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'domains' ORDER BY ordinal_position",
    );
    expect(columns).toEqual([
      { column_name: 'name', data_type: 'text', is_nullable: 'NO' },
      { column_name: 'delivered', data_type: 'bigint', is_nullable: 'NO' },
      { column_name: 'bounced', data_type: 'bigint', is_nullable: 'NO' },
      { column_name: 'updated_at', data_type: 'timestamp with time zone', is_nullable: 'NO' },
      { column_name: 'status', data_type: 'smallint', is_nullable: 'NO' },
    ]);

    expect(await migrateDown(ds)).toBe('AddDomainStatus1795470000009');
    expect(await migrateDown(ds)).toBe('CreateWebhookState1795470000008');
    expect(await migrateDown(ds)).toBe('AddStatsToFlushFences1795470000007');
    expect(await migrateDown(ds)).toBe('CreateStatusChanges1795470000006');
    expect(await migrateDown(ds)).toBe('CreateIdempotencyKeys1795470000005');
    expect(await migrateDown(ds)).toBe('DistributeOnCitus1795470000002');
    expect(await migrateDown(ds)).toBe('CreateFlushFences1795470000001');
    expect(await migrateDown(ds)).toBe('CreateDomains1795470000000');
    expect(await migrateDown(ds)).toBeUndefined();
    expect(await tables()).toEqual([]);
    expect((await migrationStatus(ds)).some((m) => m.applied)).toBe(false);

    // And again, from scratch.
    expect(await migrateUp(ds)).toHaveLength(MIGRATIONS.length);
    expect(await tables()).toEqual(['change_feed_head', 'domains', 'flush_fences', 'idempotency_keys', 'status_changes', 'status_changes_outbox']);
  });
});

describe('migrations on citus', () => {
  let migUrl: string;
  let ds: DataSource;

  beforeAll(async () => {
    migUrl = await createCitusTestDatabase('migrations_citus_test');
    ds = dataSource(4, migUrl);
    await ds.initialize();
  });

  afterAll(async () => {
    await ds?.destroy();
  });

  /** Each table's Citus layout: h = distributed by hash (with its column), n = reference. */
  const layout = async () =>
    (
      await ds.query<{ t: string; method: string; col: string | null }[]>(
        `SELECT logicalrelid::text AS t, partmethod AS method, column_to_column_name(logicalrelid, partkey) AS col
         FROM pg_dist_partition WHERE logicalrelid::text IN ('domains', 'flush_fences', 'status_changes', 'status_changes_outbox', 'change_feed_head') ORDER BY 1`,
      )
    ).map((r) => `${r.t}:${r.method}:${r.col ?? ''}`);

  const layoutOf = async (table: string) =>
    (
      await ds.query<{ t: string; method: string; col: string | null }[]>(
        `SELECT logicalrelid::text AS t, partmethod AS method, column_to_column_name(logicalrelid, partkey) AS col
         FROM pg_dist_partition WHERE logicalrelid::text = $1`,
        [table],
      )
    ).map((r) => `${r.t}:${r.method}:${r.col ?? ''}`);

  it('distribute domains by name and flush_fences by node, concurrently from two nodes, and revert', async () => {
    const other = dataSource(1, migUrl);
    await other.initialize();
    try {
      const [a, b] = await Promise.all([migrateUp(ds), migrateUp(other)]);
      expect([...a, ...b].sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
    } finally {
      await other.destroy();
    }
    expect(await layout()).toEqual(['domains:h:name', 'flush_fences:h:node', 'status_changes_outbox:h:domain']);
    const shards = await ds.query<{ n: string }[]>("SELECT count(*) AS n FROM pg_dist_shard WHERE logicalrelid = 'domains'::regclass");
    expect(Number(shards[0].n)).toBeGreaterThan(1);

    // The helpers are idempotent: a second call finds the layout in place.
    const runner = ds.createQueryRunner();
    try {
      expect(await isCitus(runner)).toBe(true);
      expect(await distributeIfCitus(runner, 'domains', 'name')).toBe(false);
      expect(await distributeIfCitus(runner, 'flush_fences', 'node')).toBe(false);
      // A reference table, for a small read-mostly table of a later migration.
      await runner.query('CREATE TABLE reference_probe (k int PRIMARY KEY)');
      expect(await referenceIfCitus(runner, 'reference_probe')).toBe(true);
      expect(await referenceIfCitus(runner, 'reference_probe')).toBe(false);
      const probe = await runner.query("SELECT partmethod FROM pg_dist_partition WHERE logicalrelid = 'reference_probe'::regclass");
      expect(probe).toEqual([{ partmethod: 'n' }]);
      await runner.query('DROP TABLE reference_probe');
    } finally {
      await runner.release();
    }

    expect(await layoutOf('idempotency_keys')).toEqual(['idempotency_keys:h:key']);
    expect(await migrateDown(ds)).toBe('AddDomainStatus1795470000009');
    expect(await migrateDown(ds)).toBe('CreateWebhookState1795470000008');
    expect(await migrateDown(ds)).toBe('AddStatsToFlushFences1795470000007');
    expect(await migrateDown(ds)).toBe('CreateStatusChanges1795470000006');
    expect(await migrateDown(ds)).toBe('CreateIdempotencyKeys1795470000005');
    expect(await migrateDown(ds)).toBe('DistributeOnCitus1795470000002');
    expect(await layout()).toEqual([]);
    expect(await migrateUp(ds)).toEqual([
      'DistributeOnCitus1795470000002',
      'CreateIdempotencyKeys1795470000005',
      'CreateStatusChanges1795470000006',
      'AddStatsToFlushFences1795470000007',
      'CreateWebhookState1795470000008',
      'AddDomainStatus1795470000009',
    ]);
    expect(await layout()).toEqual(['domains:h:name', 'flush_fences:h:node', 'status_changes_outbox:h:domain']);
    for (let i = 0; i < MIGRATIONS.length; i++) expect(await migrateDown(ds)).toBeDefined();
    expect(await migrateUp(ds)).toHaveLength(MIGRATIONS.length);
    expect(await layout()).toEqual(['domains:h:name', 'flush_fences:h:node', 'status_changes_outbox:h:domain']);
  });

  it('leave a plain PostgreSQL database alone', async () => {
    const plainUrl = await createTestDatabase('citus_helpers_plain_test');
    const plain = dataSource(1, plainUrl);
    await plain.initialize();
    const runner = plain.createQueryRunner();
    try {
      expect(await isCitus(runner)).toBe(false);
      expect(await distributeIfCitus(runner, 'domains', 'name')).toBe(false);
      expect(await referenceIfCitus(runner, 'flush_fences')).toBe(false);
    } finally {
      await runner.release();
      await plain.destroy();
      await dropTestDatabase(plainUrl);
    }
  });
});

describe('migrate command', () => {
  let cmdUrl: string;
  const saved = process.env.DATABASE_URL;

  beforeAll(async () => {
    cmdUrl = await createTestDatabase('migrate_command_test');
    process.env.DATABASE_URL = cmdUrl;
  });

  afterAll(async () => {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
    if (cmdUrl) await dropTestDatabase(cmdUrl);
  });

  it('runs up, status and down, and refuses anything else', async () => {
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await migrateCommand(['up'])).toBe(0);
      expect(await migrateCommand(['up'])).toBe(0);
      expect(await migrateCommand(['status'])).toBe(0);
      expect(await migrateCommand(['down'])).toBe(0);
      expect(await migrateCommand(['sideways'])).toBe(2);
    } finally {
      write.mockRestore();
      err.mockRestore();
    }
    const names = MIGRATIONS.map((m) => m.name);
    expect(out.join('')).toBe(
      [
        ...names.map((n) => `applied ${n}`),
        'nothing to apply',
        ...names.map((n) => `[X] ${n}`),
        `reverted ${names[names.length - 1]}`,
        '',
      ].join('\n'),
    );
  });
});

describe('test database guard', () => {
  it('refuses a database whose name does not say test', async () => {
    await expect(createTestDatabase('catchall')).rejects.toThrow(/must contain "test"/);
    await expect(dropTestDatabase(url.replace(/\/[^/]*$/, '/postgres'))).rejects.toThrow(/must contain "test"/);
  });
});
