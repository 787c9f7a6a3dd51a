// The postgres idempotent-batch store against the port's contract, on a real
// PostgreSQL and on the Citus test cluster: the key, the counts and the answer
// commit in one transaction (on Citus a distributed one: idempotency_keys is
// sharded by key, domains by name).
import { DataSource } from 'typeorm';
import { createPostgresDataSource } from '../business/adapters/postgres/data-source';
import { migrateUp } from '../business/adapters/postgres/migrate';
import { PostgresCounterStore } from '../business/adapters/postgres/postgres-counter-store.adapter';
import { PostgresIdempotentBatchStore } from '../business/adapters/postgres/postgres-idempotent-batch-store.adapter';
import { MIGRATIONS } from '../migrations';
import { batch, describeIdempotentBatchStoreContract } from './contracts/idempotent-batch-store.contract';
import { createCitusTestDatabase } from './support/citus';
import { createTestDatabase, dropTestDatabase, truncateTestDatabase } from './support/postgres';

let url: string;
let admin: DataSource;

function dataSource(poolSize = 8): DataSource {
  return createPostgresDataSource({ url, poolSize, migrations: MIGRATIONS });
}

beforeAll(async () => {
  url = await createTestDatabase('idempotent_store_test');
  admin = dataSource(2);
  await admin.initialize();
  await migrateUp(admin);
});

afterAll(async () => {
  await admin?.destroy();
  if (url) await dropTestDatabase(url);
});

describeIdempotentBatchStoreContract('postgres', async () => {
  await truncateTestDatabase(admin);
  const ds = dataSource();
  await ds.initialize();
  const counters = await PostgresCounterStore.open(ds);
  return { keyed: new PostgresIdempotentBatchStore(ds), counters, close: () => counters.close() };
});

describe('on Citus', () => {
  let citusUrl: string;
  let citusAdmin: DataSource;

  beforeAll(async () => {
    citusUrl = await createCitusTestDatabase('idempotent_store_citus_test');
    citusAdmin = createPostgresDataSource({ url: citusUrl, poolSize: 2, migrations: MIGRATIONS });
    await citusAdmin.initialize();
    await migrateUp(citusAdmin);
  }, 120_000);

  // The shared cluster (with this database) is deleted whole at the end of the run.
  afterAll(() => citusAdmin?.destroy());

  describeIdempotentBatchStoreContract('citus', async () => {
    await truncateTestDatabase(citusAdmin);
    const ds = createPostgresDataSource({ url: citusUrl, poolSize: 8, migrations: MIGRATIONS });
    await ds.initialize();
    const counters = await PostgresCounterStore.open(ds);
    return { keyed: new PostgresIdempotentBatchStore(ds), counters, close: () => counters.close() };
  });
});

describe('postgres idempotent-batch store', () => {
  it('applies one key exactly once from two processes\' pools at once (the key row lock serialises them)', async () => {
    await truncateTestDatabase(admin);
    const a = dataSource(4);
    const b = dataSource(4);
    await Promise.all([a.initialize(), b.initialize()]);
    try {
      const stores = [new PostgresIdempotentBatchStore(a), new PostgresIdempotentBatchStore(b)];
      const outcomes = await Promise.all(
        Array.from({ length: 16 }, (_, i) => stores[i % 2].applyOnce(batch('shared-key', 'fp', { 'x.com': [3, 1] }))),
      );
      expect(outcomes.filter((o) => o.kind === 'applied')).toHaveLength(1);
      const rows = await admin.query('SELECT delivered, bounced FROM domains WHERE name = $1', ['x.com']);
      expect(rows).toEqual([{ delivered: '3', bounced: '1' }]);
      const keys = await admin.query('SELECT key, status, response FROM idempotency_keys');
      expect(keys).toEqual([{ key: 'shared-key', status: 200, response: '{"accepted":4}' }]);
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
  });

  it('rolls the key back with the counts when the batch fails inside the transaction', async () => {
    await truncateTestDatabase(admin);
    const ds = dataSource(2);
    await ds.initialize();
    try {
      const store = new PostgresIdempotentBatchStore(ds);
      // A name longer than the column allows cannot fail (text); a CHECK can: a count that overflows bigint.
      await admin.query("INSERT INTO domains (name, delivered, bounced) VALUES ('full.com', 9223372036854775000, 0)");
      await expect(store.applyOnce(batch('rb', 'fp', { 'full.com': [1000, 0], 'new.com': [1, 0] }))).rejects.toThrow(/out of range/);
      expect(await admin.query('SELECT key FROM idempotency_keys')).toEqual([]);
      expect(await admin.query("SELECT name FROM domains WHERE name = 'new.com'")).toEqual([]);
    } finally {
      await ds.destroy();
    }
  });
});
