// The change feed on a real PostgreSQL and on a 3-node Citus cluster: the
// contract, transitions recorded exactly once under concurrent flushes from two
// nodes, feed order = commit order per domain, and a long-poll on one node woken
// by another node's commit.
import { DataSource } from 'typeorm';
import { createPostgresDataSource, poolOf } from '../business/adapters/postgres/data-source';
import { migrateUp } from '../business/adapters/postgres/migrate';
import { PostgresChangeFeed } from '../business/adapters/postgres/postgres-change-feed.adapter';
import { PostgresCounterStore } from '../business/adapters/postgres/postgres-counter-store.adapter';
import { Counts } from '../business/models';
import { MIGRATIONS } from '../migrations';
import { describeChangeFeedContract } from './contracts/change-feed.contract';
import { createCitusTestDatabase } from './support/citus';
import { createTestDatabase, dropTestDatabase, truncateTestDatabase } from './support/postgres';

const ENGINES: Array<[string, (name: string) => Promise<string>, boolean]> = [
  ['PostgreSQL', (name) => createTestDatabase(name), true],
  // The shared cluster is deleted whole at the end of the run.
  ['Citus', (name) => createCitusTestDatabase(name), false],
];

describe.each(ENGINES)('change feed on %s', (engine, createDatabase, drop) => {
let url: string;
let admin: DataSource;

interface Node {
  store: PostgresCounterStore;
  feed: PostgresChangeFeed;
  close(): Promise<void>;
}

/** A node; `announce: false` plays one that dies after its commits, before it sequences them. */
async function openNode(threshold: number, announce = true): Promise<Node> {
  const ds = createPostgresDataSource({ url, poolSize: 6, migrations: MIGRATIONS });
  await ds.initialize();
  const feed = await PostgresChangeFeed.open(poolOf(ds), url, { sweepMs: announce ? 60_000 : 200 });
  const store = await PostgresCounterStore.open(ds, {}, undefined, {
    threshold,
    recorded: () => (announce ? feed.recorded() : Promise.resolve()),
  });
  return {
    store,
    feed,
    close: async () => {
      await feed.close();
      await store.close();
    },
  };
}

beforeAll(async () => {
  url = await createDatabase('change_feed_test');
  admin = createPostgresDataSource({ url, poolSize: 2, migrations: MIGRATIONS });
  await admin.initialize();
  await migrateUp(admin);
});

afterAll(async () => {
  await admin?.destroy();
  if (url && drop) await dropTestDatabase(url);
});

describeChangeFeedContract(engine, async (threshold) => {
  await truncateTestDatabase(admin);
  return openNode(threshold);
});

describe('postgres change feed across two nodes', () => {
  const THRESHOLD = 10;
  let a: Node;
  let b: Node;

  beforeEach(async () => {
    await truncateTestDatabase(admin);
    a = await openNode(THRESHOLD);
    b = await openNode(THRESHOLD);
  });

  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('records each transition exactly once, in commit order per domain, when both nodes drive every domain across', async () => {
    const domains = Array.from({ length: 150 }, (_, i) => `d${String(i).padStart(3, '0')}.com`);
    const flush = (node: Node, c: Counts) =>
      node.store.apply(new Map(domains.map((d) => [d, c])), { totals: false });
    // Four concurrent flushers per node, each adding 1 delivered to every domain, 3 rounds:
    // 24 delivered per domain, crossing 10 somewhere in the middle, from either node.
    const drive = (node: Node) =>
      Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let r = 0; r < 3; r++) await flush(node, { delivered: 1, bounced: 0 });
        }),
      );
    await Promise.all([drive(a), drive(b)]);
    // Then both nodes bounce every domain at once, twice each.
    const bounce = (node: Node) =>
      Promise.all([flush(node, { delivered: 0, bounced: 1 }), flush(node, { delivered: 0, bounced: 1 })]);
    await Promise.all([bounce(a), bounce(b)]);
    // Each node sequences what it recorded; wait for both.
    await Promise.all([a.feed.sequence(), b.feed.sequence()]);

    const changes = [];
    for (let after = 0; ; ) {
      const page = await a.feed.read(after, 1000);
      if (page.length === 0) break;
      changes.push(...page);
      after = page[page.length - 1].id;
    }
    // Ids are 1..n without a gap (handed out by one sequencer at a time, under the head lock).
    expect(changes.map((c) => c.id)).toEqual(changes.map((_, i) => i + 1));
    expect(changes).toHaveLength(domains.length * 2);
    const byDomain = new Map<string, typeof changes>();
    for (const c of changes) byDomain.set(c.domain, [...(byDomain.get(c.domain) ?? []), c]);
    for (const d of domains) {
      const own = byDomain.get(d) ?? [];
      expect(own.map((c) => `${c.from}>${c.to}`)).toEqual(['unknown>catch-all', 'catch-all>not catch-all']);
      // The crossing flush added exactly 1 delivered: totals right after it are threshold + 1.
      expect(own[0]).toMatchObject({ delivered: THRESHOLD + 1, bounced: 0 });
      // Feed order is commit order: the later change carries the larger totals.
      expect(own[1].delivered).toBe(24);
      expect(own[1].bounced).toBe(1);
    }
  });

  it('wakes a long-poll on one node when another node commits a transition', async () => {
    const deadline = Date.now() + 20_000;
    const waiting = b.feed.wait(0, deadline);
    await new Promise((r) => setTimeout(r, 50));
    await a.store.apply(new Map([['x.com', { delivered: 0, bounced: 1 }]]), { totals: false });
    await expect(waiting).resolves.toBe(true);
    expect(Date.now()).toBeLessThan(deadline);
    expect((await b.feed.read(0, 10)).map((c) => c.domain)).toEqual(['x.com']);
  });

  it('commits a flush with a transition without the head, and holds no other flush while it is sequenced', async () => {
    // Another transaction holds the head's row lock (as a sequencer does while it moves a batch).
    const holder = await poolOf(admin).connect();
    await holder.query('BEGIN');
    await holder.query('SELECT last_id FROM change_feed_head FOR UPDATE');
    let flushed: Promise<unknown> | undefined;
    try {
      // The flush commits, then waits to see its change in the feed (apply answers after that).
      flushed = a.store.apply(new Map([['z.com', { delivered: 0, bounced: 1 }]]), { totals: false });
      let outbox: unknown[] = [];
      for (let i = 0; i < 200 && outbox.length === 0; i++) {
        outbox = await admin.query('SELECT domain, from_status, to_status FROM status_changes_outbox');
        if (outbox.length === 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(outbox).toEqual([{ domain: 'z.com', from_status: 'unknown', to_status: 'not catch-all' }]);
      // Its row lock is gone: another node's flush of the same domain (no transition) completes.
      const other = b.store.apply(new Map([['z.com', { delivered: 0, bounced: 1 }]]), { totals: false });
      const outcome = await Promise.race([
        other.then(() => 'flushed'),
        new Promise((r) => setTimeout(() => r('blocked'), 10_000)),
      ]);
      expect(outcome).toBe('flushed');
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    await flushed;
    expect((await a.feed.read(0, 10)).map((c) => [c.id, c.domain])).toEqual([[1, 'z.com']]);
    expect(await admin.query('SELECT * FROM status_changes_outbox')).toEqual([]);
  });

  it('moves transitions of a node that died before sequencing them (another node sweeps)', async () => {
    const dying = await openNode(THRESHOLD, false);
    try {
      const waiting = b.feed.wait(0, Date.now() + 20_000);
      await dying.store.apply(new Map([['w.com', { delivered: 0, bounced: 1 }]]), { totals: false });
      await expect(waiting).resolves.toBe(true);
      expect((await b.feed.read(0, 10)).map((c) => c.domain)).toEqual(['w.com']);
    } finally {
      await dying.close();
    }
  });

  it('writes nothing to the feed for a flush without transitions', async () => {
    await a.store.apply(new Map([['y.com', { delivered: 3, bounced: 0 }]]), { totals: true });
    await a.feed.sequence();
    const head = await admin.query('SELECT last_id FROM change_feed_head');
    expect(Number(head[0].last_id)).toBe(0);
    expect(await admin.query('SELECT * FROM status_changes_outbox')).toEqual([]);
    expect(await a.feed.read(0, 10)).toEqual([]);
  });
});
});
