// The Redis status cache against a real redis-server and a real three-master
// Redis Cluster (the same cases on both): hits, read-through fills, monotone
// merges, expiry rules, generations, and what happens when Redis goes away and
// comes back. On the cluster also: keys spread over every master, and a master
// that restarts empty.
import { classify, Counts, DomainCounts } from '../business/models';
import { CacheMerge, CacheRead, CacheState, CounterStore, StatusCache } from '../business/ports';
import { MemoryCounterStore } from '../business/adapters/memory/memory-counter-store.adapter';
import { CacheObserver, LookupResult } from '../business/adapters/redis-cache/cache-observer';
import { CachedCounterStore } from '../business/adapters/redis-cache/cached-counter-store.adapter';
import { RedisStatusCache } from '../business/adapters/redis-cache/redis-status-cache.adapter';
import { clusterOf, RedisBackend, REDIS_KINDS, startRedis } from './support/redis-backends';

const TTL_S = 120;
const TIMEOUT_MS = 200;

function counting(): { observer: CacheObserver; lookups: Record<LookupResult, number> } {
  const lookups: Record<LookupResult, number> = { hit: 0, miss: 0, bypass: 0 };
  return { lookups, observer: { lookups: (result, n) => (lookups[result] += n) } };
}

function deltas(entries: Record<string, Partial<Counts>>): Map<string, Counts> {
  return new Map(Object.entries(entries).map(([k, v]) => [k, { delivered: v.delivered ?? 0, bounced: v.bounced ?? 0 }]));
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(REDIS_KINDS)('%s Redis', (kind) => {
let server: RedisBackend;
const opened: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  server = await startRedis(kind);
});

afterAll(async () => {
  await server?.stop();
});

beforeEach(async () => {
  if (!server.running) await server.restartAll();
  await server.flushAll();
});

afterEach(async () => {
  while (opened.length > 0) await opened.pop()!.close();
});

async function newCache(observer: CacheObserver = {}, extra: { openMs?: number; timeoutMs?: number } = {}): Promise<RedisStatusCache> {
  const cache = new RedisStatusCache({ ...server.target, ttlSeconds: TTL_S, timeoutMs: TIMEOUT_MS, observer, ...extra });
  opened.push(cache);
  if (!(await cache.connected(2000))) throw new Error('redis did not connect');
  return cache;
}

async function newStore(inner: CounterStore = new MemoryCounterStore(), observer: CacheObserver = {}) {
  const cache = await newCache();
  await cache.connected(2000);
  const store = new CachedCounterStore(inner, cache, observer);
  await store.start();
  return { store, cache, inner };
}

describe('RedisStatusCache (real Redis)', () => {
  it('misses what it never saw, then hits what was merged', async () => {
    const cache = await newCache();
    const first = await cache.getMany(['a.com', 'b.com']);
    expect(first.hits.size).toBe(0);
    const merge = await cache.merge([{ name: 'a.com', delivered: 3, bounced: 0 }], first.generation);
    expect(merge).toEqual({ merged: true, generation: first.generation });
    const second = await cache.getMany(['a.com', 'b.com']);
    expect(Object.fromEntries(second.hits)).toEqual({ 'a.com': { delivered: 3, bounced: 0 } });
  });

  it('keeps the larger counts and the higher status whatever the order of writes', async () => {
    const cache = await newCache();
    const { generation } = await cache.getMany([]);
    // not catch-all first, then a late catch-all view of the same domain
    await cache.merge([{ name: 'late.com', delivered: 5, bounced: 1 }], generation);
    await cache.merge([{ name: 'late.com', delivered: 1500, bounced: 0 }], generation);
    // counts never go down
    await cache.merge([{ name: 'down.com', delivered: 1200, bounced: 0 }], generation);
    await cache.merge([{ name: 'down.com', delivered: 7, bounced: 0 }], generation);
    const { hits } = await cache.getMany(['late.com', 'down.com']);
    expect(hits.get('late.com')).toEqual({ delivered: 1500, bounced: 1 });
    expect(classify(hits.get('late.com')!)).toBe('not catch-all');
    expect(hits.get('down.com')).toEqual({ delivered: 1200, bounced: 0 });
    expect(classify(hits.get('down.com')!)).toBe('catch-all');
  });

  it('never expires not catch-all entries and expires the others within CACHE_TTL_S', async () => {
    const cache = await newCache();
    const { generation } = await cache.getMany([]);
    await cache.merge(
      [
        { name: 'unknown.com', delivered: 10, bounced: 0 },
        { name: 'catchall.com', delivered: 1001, bounced: 0 },
        { name: 'bounced.com', delivered: 10, bounced: 2 },
        { name: 'turns.com', delivered: 10, bounced: 0 },
      ],
      generation,
    );
    expect(await server.admin().ttl(server.keyOf('bounced.com'))).toBe(-1);
    for (const name of ['unknown.com', 'catchall.com', 'turns.com']) {
      const ttl = await server.admin().ttl(server.keyOf(name));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(TTL_S);
    }
    // A bounce makes the status final: the entry loses its expiry.
    await cache.merge([{ name: 'turns.com', delivered: 10, bounced: 1 }], generation);
    expect(await server.admin().ttl(server.keyOf('turns.com'))).toBe(-1);
    // and a late write without the bounce does not give it one back
    await cache.merge([{ name: 'turns.com', delivered: 12, bounced: 0 }], generation);
    expect(await server.admin().ttl(server.keyOf('turns.com'))).toBe(-1);
  });

  it('splits big merges into several script calls in one pipeline', async () => {
    const cache = await newCache();
    const { generation } = await cache.getMany([]);
    const rows: DomainCounts[] = Array.from({ length: 2500 }, (_, i) => ({ name: `d${i}.com`, delivered: i, bounced: 0 }));
    expect((await cache.merge(rows, generation)).merged).toBe(true);
    const { hits } = await cache.getMany(['d0.com', 'd1499.com', 'd2499.com']);
    expect(hits.get('d2499.com')).toEqual({ delivered: 2499, bounced: 0 });
    expect(hits.size).toBe(3);
  });

  it('writes nothing for a caller whose generation is not the current one', async () => {
    const cache = await newCache();
    const { generation } = await cache.getMany([]);
    await cache.merge([{ name: 'a.com', delivered: 1, bounced: 0 }], generation);
    const next = await cache.invalidate();
    expect(next).not.toBe(generation);
    // older entries are misses now
    expect((await cache.getMany(['a.com'])).hits.size).toBe(0);
    // a merge observed under the old generation is refused
    const stale = await cache.merge([{ name: 'a.com', delivered: 5, bounced: 0 }], generation);
    expect(stale).toEqual({ merged: false, generation: next });
    expect((await cache.getMany(['a.com'])).hits.size).toBe(0);
    expect((await cache.merge([{ name: 'a.com', delivered: 5, bounced: 0 }], undefined)).merged).toBe(false);
  });

  it('adopts a new generation when Redis lost its data', async () => {
    const cache = await newCache({}, { openMs: 50 });
    const { generation } = await cache.getMany([]);
    await server.restartAll();
    await waitFor(async () => cache.getMany([]).then(() => true, () => false));
    const after = await cache.getMany([]);
    expect(after.generation).not.toBe(generation);
  });
});

describe('CachedCounterStore over Redis', () => {
  it('read-through: a miss reads the store and fills the cache, the next read hits', async () => {
    const { observer, lookups } = counting();
    const inner = new MemoryCounterStore();
    await inner.apply(deltas({ 'a.com': { delivered: 4 } }));
    const { store, cache } = await newStore(inner, observer);
    expect(Object.fromEntries(await store.read(['a.com', 'never.com']))).toEqual({ 'a.com': { delivered: 4, bounced: 0 } });
    expect(lookups).toEqual({ hit: 0, miss: 2, bypass: 0 });
    await waitFor(async () => (await cache.getMany(['a.com'])).hits.size === 1);
    const spy = jest.spyOn(inner, 'read');
    expect(Object.fromEntries(await store.read(['a.com']))).toEqual({ 'a.com': { delivered: 4, bounced: 0 } });
    expect(spy).not.toHaveBeenCalled();
    expect(lookups.hit).toBe(1);
  });

  it('write-through: the cache gets the totals each apply() returned', async () => {
    const { store, cache } = await newStore();
    await store.apply(deltas({ 'a.com': { delivered: 2 }, 'b.com': { bounced: 1 } }));
    await store.apply(deltas({ 'a.com': { delivered: 3 } }));
    await store.settled();
    const { hits } = await cache.getMany(['a.com', 'b.com']);
    expect(Object.fromEntries(hits)).toEqual({
      'a.com': { delivered: 5, bounced: 0 },
      'b.com': { delivered: 0, bounced: 1 },
    });
  });

  it('a write that missed the cache is never hidden by it, on this node or another', async () => {
    const shared = new MemoryCounterStore();
    const a = await newStore(shared);
    const faulty = new FaultyCache(await newCache());
    const b = new CachedCounterStore(shared, faulty);
    await b.start();

    await a.store.apply(deltas({ 'x.com': { delivered: 1 } }));
    await a.store.settled();
    expect((await a.store.read(['x.com'])).get('x.com')).toEqual({ delivered: 1, bounced: 0 });

    // Node b's write reaches the store but not the cache; b invalidates at once.
    faulty.failMerges = true;
    await b.apply(deltas({ 'x.com': { bounced: 1 } }));
    await b.settled();
    faulty.failMerges = false;
    await waitFor(() => !b.suspect);
    expect((await a.store.read(['x.com'])).get('x.com')).toEqual({ delivered: 1, bounced: 1 });
    expect((await b.read(['x.com'])).get('x.com')).toEqual({ delivered: 1, bounced: 1 });

    // Redis unreachable from b for a while: b reads the store meanwhile, and
    // invalidates as soon as it reaches Redis again.
    faulty.failAll = true;
    await b.apply(deltas({ 'x.com': { bounced: 1 } }));
    await b.settled();
    expect(b.suspect).toBe(true);
    expect((await b.read(['x.com'])).get('x.com')).toEqual({ delivered: 1, bounced: 2 });
    faulty.failAll = false;
    await b.read(['x.com']);
    await waitFor(() => !b.suspect);
    expect((await a.store.read(['x.com'])).get('x.com')).toEqual({ delivered: 1, bounced: 2 });
  });

  it('keeps answering from the store while Redis is down, and uses it again once it is back', async () => {
    const { observer, lookups } = counting();
    const inner = new MemoryCounterStore();
    const cache = await newCache({}, { openMs: 100 });
    const store = new CachedCounterStore(inner, cache, observer);
    await store.start();
    await store.apply(deltas({ 'a.com': { delivered: 1 } }));

    await server.killAll();
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      await store.apply(deltas({ 'a.com': { delivered: 1 } }));
      expect((await store.read(['a.com'])).get('a.com')).toEqual({ delivered: 2 + i, bounced: 0 });
    }
    // bounded by the timeout, then nothing at all once the breaker is open
    expect(Date.now() - started).toBeLessThan(20 * TIMEOUT_MS);
    await store.settled();
    expect(cache.state().available).toBe(false);
    expect(store.suspect).toBe(true);

    await server.restartAll();
    await waitFor(async () => {
      await store.read(['a.com']);
      return !store.suspect && cache.state().available;
    });
    const hitsBefore = lookups.hit;
    await waitFor(async () => {
      expect((await store.read(['a.com'])).get('a.com')).toEqual({ delivered: 21, bounced: 0 });
      return lookups.hit > hitsBefore;
    });
  });
});


if (kind === 'cluster') {
  describe('on the cluster', () => {
    it('spreads domain keys over every master, each script call within one slot', async () => {
      // 3000 domains are some 64 calls each way: a deadline for a busy test machine, not for speed.
      const cache = await newCache({}, { timeoutMs: 5000 });
      const { generation } = await cache.getMany([]);
      const rows: DomainCounts[] = Array.from({ length: 3000 }, (_, i) => ({ name: `spread${i}.com`, delivered: i, bounced: 0 }));
      expect((await cache.merge(rows, generation)).merged).toBe(true);
      const sizes = await clusterOf(server)!.dbSizes();
      expect(sizes).toHaveLength(3);
      // 3000 entries and 64 generation keys over 3 masters: none holds less than a sixth.
      for (const size of sizes) expect(size).toBeGreaterThan(500);
      const { hits } = await cache.getMany(rows.map((r) => r.name));
      expect(hits.size).toBe(3000);
      expect(hits.get('spread2999.com')).toEqual({ delivered: 2999, bounced: 0 });
    });

    it('a master killed under writes: its domains are read from the store, exactly, until it is back', async () => {
      const cluster = clusterOf(server)!;
      const { observer, lookups } = counting();
      const cache = await newCache({}, { openMs: 100 });
      const inner = new MemoryCounterStore();
      const store = new CachedCounterStore(inner, cache, observer);
      await store.start();
      const names = Array.from({ length: 60 }, (_, i) => `killed${i}.com`);
      const want = new Map(names.map((n) => [n, { delivered: 0, bounced: 0 }]));
      const write = async (round: number) => {
        const batch = new Map<string, Counts>();
        names.forEach((n, i) => {
          const d = { delivered: 1 + (i % 3), bounced: (round + i) % 11 === 0 ? 1 : 0 };
          batch.set(n, d);
          const w = want.get(n)!;
          w.delivered += d.delivered;
          w.bounced += d.bounced;
        });
        await store.apply(batch);
      };
      const check = async () => expect(Object.fromEntries(await store.read(names))).toEqual(Object.fromEntries(want));
      for (let round = 0; round < 3; round++) await write(round);
      await store.settled();
      await check();
      expect(lookups.hit).toBe(names.length);

      await cluster.kill(0);
      for (let round = 3; round < 10; round++) {
        await write(round);
        await check();
      }
      await store.settled();
      expect(store.suspect).toBe(true);
      await check();

      // Back, empty, with its slots: a new generation everywhere, then hits again, still exact.
      await cluster.restart(0);
      await waitFor(async () => {
        await store.read(names);
        return !store.suspect && cache.state().available;
      }, 10_000);
      await write(10);
      await store.settled();
      const hitsBefore = lookups.hit;
      await check();
      await check();
      expect(lookups.hit).toBeGreaterThan(hitsBefore);
    });
  });
}
});

/** A StatusCache that fails on demand, in front of a real one (one node's view of a flaky Redis). */
class FaultyCache extends StatusCache {
  readonly kind = 'faulty';
  failMerges = false;
  failAll = false;
  constructor(private readonly real: RedisStatusCache) {
    super();
  }
  private check(merge = false): void {
    if (this.failAll || (merge && this.failMerges)) throw new Error('injected failure');
  }
  async getMany(names: readonly string[]): Promise<CacheRead> {
    this.check();
    return this.real.getMany(names);
  }
  async merge(rows: readonly DomainCounts[], generation: string | undefined): Promise<CacheMerge> {
    this.check(true);
    return this.real.merge(rows, generation);
  }
  async invalidate(): Promise<string> {
    this.check();
    return this.real.invalidate();
  }
  ping(): Promise<void> {
    return this.real.ping();
  }
  state(): CacheState {
    return this.real.state();
  }
  close(): Promise<void> {
    return this.real.close();
  }
}
