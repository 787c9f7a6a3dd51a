// Store stats (GET /stats) kept by the writes themselves, on the memory store,
// a real PostgreSQL and the Citus test cluster: after random flushes from two
// stores at once (two nodes on the databases) and keyed batches, the stats
// equal a full count of the domains; and the sums of lanes gone for good move
// to 'base' without changing the totals.
import { DataSource } from 'typeorm';
import { MemoryCounterStore } from '../business/adapters/memory/memory-counter-store.adapter';
import { MemoryIdempotentBatchStore } from '../business/adapters/memory/memory-idempotent-batch-store.adapter';
import { MemoryStoreStats } from '../business/adapters/memory/memory-store-stats.adapter';
import { createPostgresDataSource, poolOf } from '../business/adapters/postgres/data-source';
import { migrateUp } from '../business/adapters/postgres/migrate';
import { PostgresCounterStore } from '../business/adapters/postgres/postgres-counter-store.adapter';
import { PostgresIdempotentBatchStore } from '../business/adapters/postgres/postgres-idempotent-batch-store.adapter';
import { PostgresStoreStats } from '../business/adapters/postgres/postgres-store-stats.adapter';
import { Counts, StoreStats, classify, emptyStats } from '../business/models';
import { CountDeltas, CounterStore, IdempotentBatchStore, StoreStatsSource } from '../business/ports';
import { MIGRATIONS } from '../migrations';
import { createCitusTestDatabase } from './support/citus';
import { createTestDatabase, dropTestDatabase, truncateTestDatabase } from './support/postgres';

const T = 20;

interface Subject {
  /** Two writers on one store (two nodes, where the store is shared). */
  writers: [CounterStore, CounterStore];
  stats: StoreStatsSource;
  keyed: IdempotentBatchStore;
  close(): Promise<void>;
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A flush of up to 40 of 120 domains; most deliveries, few bounces, some big steps across the threshold. */
function randomDeltas(next: () => number): Map<string, Counts> {
  const out = new Map<string, Counts>();
  const n = 1 + Math.floor(next() * 40);
  for (let i = 0; i < n; i++) {
    const name = `d${Math.floor(next() * 120)}.test`;
    const bounce = next() < 0.02 ? 1 : 0;
    out.set(name, { delivered: Math.floor(next() * (next() < 0.1 ? 30 : 4)), bounced: bounce });
  }
  return out;
}

function fullCount(totals: Map<string, Counts>): StoreStats {
  const s = emptyStats();
  for (const c of totals.values()) {
    s.domains[classify(c, T)] += 1;
    s.events.delivered += c.delivered;
    s.events.bounced += c.bounced;
  }
  return s;
}

function add(into: Map<string, Counts>, deltas: CountDeltas): void {
  for (const [name, c] of deltas) {
    const was = into.get(name) ?? { delivered: 0, bounced: 0 };
    into.set(name, { delivered: was.delivered + c.delivered, bounced: was.bounced + c.bounced });
  }
}

function describeStats(engine: string, make: () => Promise<Subject>): void {
  describe(`store stats on ${engine}`, () => {
    let subject: Subject;

    beforeEach(async () => {
      subject = await make();
    });

    afterEach(async () => {
      await subject.close();
    });

    it('start at zero', async () => {
      expect(await subject.stats.read()).toEqual(emptyStats());
    });

    it('equal a full count after random flushes from two writers at once', async () => {
      const expected = new Map<string, Counts>();
      const next = random(1301);
      const batches = Array.from({ length: 60 }, () => randomDeltas(next));
      batches.forEach((b) => add(expected, b));
      // Each writer runs three flushers; both writers at once.
      await Promise.all(
        subject.writers.flatMap((w, wi) =>
          [0, 1, 2].map(async (k) => {
            for (let i = wi * 3 + k; i < batches.length; i += 6) await w.apply(batches[i], { totals: i % 2 === 0 });
          }),
        ),
      );
      const stats = await subject.stats.read();
      expect(stats).toEqual(fullCount(expected));
      // Every status occurred, so the test means something.
      expect(Object.values(stats.domains).every((n) => n > 0)).toBe(true);
      // And the store agrees with the model.
      const stored = await subject.writers[0].read([...expected.keys()]);
      expect(fullCount(stored)).toEqual(stats);
    });

    it('count keyed batches like flushes, and a replayed key not at all', async () => {
      const keyed = subject.keyed;
      const expected = new Map<string, Counts>();
      const first = new Map([['k1.test', { delivered: T + 5, bounced: 0 }], ['k2.test', { delivered: 1, bounced: 0 }]]);
      const answer = { status: 202, body: '{}' };
      await keyed.applyOnce({ key: 'stats-a', fingerprint: 'f1', deltas: first, answer, ttlSeconds: 60 });
      await keyed.applyOnce({ key: 'stats-a', fingerprint: 'f1', deltas: first, answer, ttlSeconds: 60 });
      add(expected, first);
      const second = new Map([['k2.test', { delivered: 0, bounced: 1 }]]);
      await subject.writers[1].apply(second);
      add(expected, second);
      expect(await subject.stats.read()).toEqual(fullCount(expected));
    });
  });
}

describeStats('memory', async () => {
  const stats = new MemoryStoreStats(T);
  const store = new MemoryCounterStore(undefined, T, stats);
  return { writers: [store, store], stats, keyed: new MemoryIdempotentBatchStore(store), close: async () => undefined };
});

const DATABASES: Array<[string, (name: string) => Promise<string>, boolean]> = [
  ['PostgreSQL', (name) => createTestDatabase(name), true],
  // The shared cluster is deleted whole at the end of the run.
  ['Citus', (name) => createCitusTestDatabase(name), false],
];

describe.each(DATABASES)('on %s', (engine, createDatabase, drop) => {
  let url: string;
  let admin: DataSource;

  beforeAll(async () => {
    url = await createDatabase('store_stats_test');
    admin = createPostgresDataSource({ url, poolSize: 2, migrations: MIGRATIONS });
    await admin.initialize();
    await migrateUp(admin);
  }, 120_000);

  afterAll(async () => {
    await admin?.destroy();
    if (url && drop) await dropTestDatabase(url);
  });

  async function node(): Promise<PostgresCounterStore> {
    const ds = createPostgresDataSource({ url, poolSize: 6, migrations: MIGRATIONS });
    await ds.initialize();
    return PostgresCounterStore.open(ds, {}, undefined, { threshold: T });
  }

  describeStats(engine, async () => {
    await truncateTestDatabase(admin);
    const [a, b] = [await node(), await node()];
    return {
      writers: [a, b],
      stats: new PostgresStoreStats(poolOf(admin)),
      keyed: new PostgresIdempotentBatchStore(a.dataSource, a),
      close: async () => {
        await a.close();
        await b.close();
      },
    };
  });

  it(`keep domains.status equal to each domain's status, on every write path (${engine})`, async () => {
    await truncateTestDatabase(admin);
    const a = await node();
    try {
      const next = random(1302);
      for (let i = 0; i < 30; i++) await a.apply(randomDeltas(next), { totals: i % 2 === 0 });
      const keyed = new PostgresIdempotentBatchStore(a.dataSource, a);
      const answer = { status: 202, body: '{}' };
      await keyed.applyOnce({ key: 'status-k', fingerprint: 'f', deltas: new Map([['d1.test', { delivered: 0, bounced: 1 }], ['k9.test', { delivered: T + 1, bounced: 0 }]]), answer, ttlSeconds: 60 });
      const rows: Array<{ name: string; delivered: string; bounced: string; status: number }> = await admin.query(
        'SELECT name, delivered, bounced, status FROM domains',
      );
      const rank = { unknown: 0, 'catch-all': 1, 'not catch-all': 2 };
      const wrong = rows.filter((r) => r.status !== rank[classify({ delivered: Number(r.delivered), bounced: Number(r.bounced) }, T)]);
      expect(wrong).toEqual([]);
      expect(new Set(rows.map((r) => r.status))).toEqual(new Set([0, 1, 2]));
    } finally {
      await a.close();
    }
  });

  it(`keeps the sums of lanes gone for good in 'base' (${engine}) when a store opens`, async () => {
    await truncateTestDatabase(admin);
    const a = await node();
    try {
      await a.apply(new Map([['f1.test', { delivered: T + 1, bounced: 0 }], ['f2.test', { delivered: 2, bounced: 1 }]]));
      const stats = new PostgresStoreStats(poolOf(admin));
      const before = await stats.read();
      expect(before).toEqual({ domains: { unknown: 0, 'catch-all': 1, 'not catch-all': 1 }, events: { delivered: T + 3, bounced: 1 } });
      // The lane was not seen for the retention period; the next store to open expires it.
      await admin.query("UPDATE flush_fences SET updated_at = now() - interval '31 days' WHERE node <> 'base'");
      const b = await node();
      await b.close();
      const rows = await admin.query("SELECT node FROM flush_fences WHERE node = 'base' OR node LIKE $1", [`${a.node}:%`]);
      expect(rows).toEqual([{ node: 'base' }]);
      expect(await stats.read()).toEqual(before);
      // The old store's next flush is refused by its missing fence, takes its row back, and is counted once on retry.
      await expect(a.apply(new Map([['f3.test', { delivered: 1, bounced: 0 }]]))).rejects.toThrow(/fence/);
      await a.apply(new Map([['f3.test', { delivered: 1, bounced: 0 }]]));
      expect(await stats.read()).toEqual({
        domains: { unknown: 1, 'catch-all': 1, 'not catch-all': 1 },
        events: { delivered: T + 4, bounced: 1 },
      });
    } finally {
      await a.close();
    }
  });
});
