// The cache protocol of CachedCounterStore, against an in-memory fake cache
// with the same generation rules as the Redis scripts.
import { Counts, DomainCounts } from '../../models';
import { CacheMerge, CacheRead, CacheState, CacheUnavailableError, StatusCache } from '../../ports';
import { MemoryCounterStore } from '../memory/memory-counter-store.adapter';
import { CachedCounterStore } from './cached-counter-store.adapter';

class FakeCache extends StatusCache {
  readonly kind = 'fake';
  generation = 'g0';
  private seq = 0;
  readonly entries = new Map<string, { generation: string; counts: Counts }>();
  fail: 'none' | 'error' | 'unavailable' = 'none';
  invalidations = 0;
  closed = false;
  /** When set, invalidate() waits for it. */
  gate: Promise<void> | undefined;
  /** Runs inside merge(), before the generation check (to move the generation under a caller). */
  beforeMerge: (() => void) | undefined;

  private check(): void {
    if (this.fail === 'error') throw new Error('redis down');
    if (this.fail === 'unavailable') throw new CacheUnavailableError('breaker open');
  }

  async getMany(names: readonly string[]): Promise<CacheRead> {
    this.check();
    const hits = new Map<string, Counts>();
    for (const n of names) {
      const e = this.entries.get(n);
      if (e && e.generation === this.generation) hits.set(n, { ...e.counts });
    }
    return { hits, generation: this.generation };
  }

  async merge(rows: readonly DomainCounts[], generation: string | undefined): Promise<CacheMerge> {
    this.check();
    const hook = this.beforeMerge;
    this.beforeMerge = undefined;
    hook?.();
    if (generation !== this.generation) return { merged: false, generation: this.generation };
    for (const r of rows) {
      const e = this.entries.get(r.name);
      const old = e && e.generation === this.generation ? e.counts : { delivered: 0, bounced: 0 };
      this.entries.set(r.name, {
        generation: this.generation,
        counts: { delivered: Math.max(old.delivered, r.delivered), bounced: Math.max(old.bounced, r.bounced) },
      });
    }
    return { merged: true, generation: this.generation };
  }

  async invalidate(): Promise<string> {
    if (this.gate) await this.gate;
    this.check();
    this.invalidations++;
    this.generation = `g${++this.seq}`;
    return this.generation;
  }

  bump(): void {
    this.generation = `g${++this.seq}`;
  }

  async ping(): Promise<void> {
    this.check();
  }

  state(): CacheState {
    return { available: this.fail === 'none', detail: {} };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  cached(name: string): Counts | undefined {
    const e = this.entries.get(name);
    return e && e.generation === this.generation ? e.counts : undefined;
  }
}

function d(entries: Record<string, Partial<Counts>>): Map<string, Counts> {
  return new Map(Object.entries(entries).map(([k, v]) => [k, { delivered: v.delivered ?? 0, bounced: v.bounced ?? 0 }]));
}

async function setup() {
  const inner = new MemoryCounterStore();
  const cache = new FakeCache();
  const store = new CachedCounterStore(inner, cache);
  await store.start();
  return { inner, cache, store };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('CachedCounterStore', () => {
  it('writes through: the cache holds the totals the store returned', async () => {
    const { cache, store } = await setup();
    await store.apply(d({ 'a.com': { delivered: 2 } }));
    await store.settled();
    await store.apply(d({ 'a.com': { bounced: 1 } }));
    await store.settled();
    expect(cache.cached('a.com')).toEqual({ delivered: 2, bounced: 1 });
  });

  it('reads through: misses come from the store and fill the cache', async () => {
    const { inner, cache, store } = await setup();
    await inner.apply(d({ 'a.com': { delivered: 7 } }));
    expect((await store.read(['a.com', 'b.com'])).get('a.com')).toEqual({ delivered: 7, bounced: 0 });
    await settle();
    expect(cache.cached('a.com')).toEqual({ delivered: 7, bounced: 0 });
    expect(cache.cached('b.com')).toBeUndefined();
  });

  it('re-reads the store when a new generation started while it flushed', async () => {
    const { inner, cache, store } = await setup();
    await store.apply(d({ 'a.com': { delivered: 1 } }));
    await store.settled();
    const read = jest.spyOn(inner, 'read');
    cache.beforeMerge = () => cache.bump();
    await store.apply(d({ 'a.com': { delivered: 1 } }));
    await store.settled();
    expect(read).toHaveBeenCalledWith(['a.com']);
    expect(cache.cached('a.com')).toEqual({ delivered: 2, bounced: 0 });
    expect(store.suspect).toBe(false);
  });

  it('drops a fill when the generation moved between the cache read and the store read', async () => {
    const { inner, cache, store } = await setup();
    await inner.apply(d({ 'a.com': { delivered: 1 } }));
    const realRead = inner.read.bind(inner);
    jest.spyOn(inner, 'read').mockImplementation(async (names) => {
      cache.bump();
      return realRead(names);
    });
    await store.read(['a.com']);
    await settle();
    expect(cache.cached('a.com')).toBeUndefined();
  });

  it.each(['error', 'unavailable'] as const)(
    'never fails a flush because of the cache (%s), and stops trusting it until a new generation',
    async (failure) => {
      const { cache, store } = await setup();
      await store.apply(d({ 'a.com': { delivered: 1 } }));
      await store.settled();
      cache.fail = failure;
      await expect(store.apply(d({ 'a.com': { delivered: 1 } }))).resolves.toEqual([
        { name: 'a.com', delivered: 2, bounced: 0 },
      ]);
      await store.settled();
      expect(store.suspect).toBe(true);
      // The cache is back but still holds delivered=1: this node must not read it.
      cache.fail = 'none';
      const getMany = jest.spyOn(cache, 'getMany');
      expect((await store.read(['a.com'])).get('a.com')).toEqual({ delivered: 2, bounced: 0 });
      expect(getMany).not.toHaveBeenCalled();
      await settle();
      expect(cache.invalidations).toBe(1);
      expect(store.suspect).toBe(false);
      // Now it reads through again, and the stale entry is a miss.
      expect((await store.read(['a.com'])).get('a.com')).toEqual({ delivered: 2, bounced: 0 });
      expect(getMany).toHaveBeenCalled();
    },
  );

  it('starts one invalidation at a time, and only one sent after a miss covers it', async () => {
    const { cache, store } = await setup();
    cache.fail = 'error';
    await store.apply(d({ 'a.com': { delivered: 1 } })); // miss #1; its invalidation fails
    await store.settled();
    expect(store.suspect).toBe(true);
    let open!: () => void;
    cache.gate = new Promise((r) => (open = r));
    cache.fail = 'none';
    const invalidate = jest.spyOn(cache, 'invalidate');
    await Promise.all([store.read(['a.com']), store.read(['a.com']), store.read(['a.com'])]);
    expect(invalidate).toHaveBeenCalledTimes(1); // one in flight, held at the gate
    cache.fail = 'error';
    await store.apply(d({ 'a.com': { delivered: 1 } })); // miss #2, after that invalidation was sent
    await settle();
    cache.fail = 'none';
    open();
    await store.settled();
    expect(cache.invalidations).toBe(1);
    expect(store.suspect).toBe(true);
    cache.gate = undefined;
    await store.read(['a.com']);
    await store.settled();
    expect(cache.invalidations).toBe(2);
    expect(store.suspect).toBe(false);
  });

  it('does not wait for the merge, and reads domains being merged from the store', async () => {
    const { inner, cache, store } = await setup();
    await store.apply(d({ 'a.com': { delivered: 1 }, 'b.com': { delivered: 1 } }));
    await store.settled();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const realMerge = cache.merge.bind(cache);
    jest.spyOn(cache, 'merge').mockImplementationOnce(async (rows, generation) => {
      await gate;
      return realMerge(rows, generation);
    });
    await store.apply(d({ 'a.com': { delivered: 1 } })); // returns while its merge waits
    const read = jest.spyOn(inner, 'read');
    const got = await store.read(['a.com', 'b.com']);
    expect(Object.fromEntries(got)).toEqual({ 'a.com': { delivered: 2, bounced: 0 }, 'b.com': { delivered: 1, bounced: 0 } });
    expect(read).toHaveBeenCalledWith(['a.com']);
    release();
    await store.settled();
    read.mockClear();
    expect((await store.read(['a.com'])).get('a.com')).toEqual({ delivered: 2, bounced: 0 });
    expect(read).not.toHaveBeenCalled();
  });

  it('falls back to the store when a cache read fails', async () => {
    const { inner, cache, store } = await setup();
    await inner.apply(d({ 'a.com': { bounced: 3 } }));
    cache.fail = 'error';
    expect((await store.read(['a.com'])).get('a.com')).toEqual({ delivered: 0, bounced: 3 });
    expect(store.suspect).toBe(false);
  });

  it('passes store failures through untouched', async () => {
    const { inner, store } = await setup();
    jest.spyOn(inner, 'apply').mockRejectedValue(new Error('db down'));
    await expect(store.apply(d({ 'a.com': { delivered: 1 } }))).rejects.toThrow('db down');
  });

  it('closes the store and the cache, invalidating first if a write missed the cache', async () => {
    const { inner, cache, store } = await setup();
    const close = jest.spyOn(inner, 'close');
    cache.fail = 'error';
    await store.apply(d({ 'a.com': { delivered: 1 } }));
    await store.settled();
    cache.fail = 'none';
    await store.close();
    expect(close).toHaveBeenCalled();
    expect(cache.invalidations).toBe(1);
    expect(cache.closed).toBe(true);
  });
});
