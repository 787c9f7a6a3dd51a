// A counter store that wraps another one with a status cache (DESIGN §4): the
// business core sees a CounterStore and does not change.
//
// Write-through: after apply() has written the inner store, the totals it
// returned are merged into the cache. The merge runs beside the flush (apply()
// returns at once), so Redis never slows ingest; until it lands, this node reads
// those domains from the store, so it still reads its own writes. Read-through:
// read() asks the cache first and the store only for the misses, then fills the
// cache with what the store said (without waiting for it).
//
// Why the cache is never further behind the store than normal staleness.
// Store totals only grow, and the cache only ever holds totals some store call
// returned, merged by max; so an entry is a lower bound of the store, and it lags
// only if a write reached the store but its merge did not reach the cache
// (Redis down, slow or the breaker open). Such a write is "missed". After a miss
// this node:
//   1. stops reading the cache (its own reads go to the store), and
//   2. starts a new cache generation (invalidate()) as soon as Redis answers;
//      every entry written before is then a miss for every node, and the cache
//      refills from the store. Only a generation started *after* the miss counts
//      (the missed/covered sequence numbers below).
// A new generation must not be filled with totals older than the missed write:
// every merge carries the generation its caller observed *before* it read or
// wrote the store, and the Lua script writes nothing if the cache has moved on.
// A fill is then simply dropped; a flush's merge is retried with totals read
// again from the store after observing the new generation (rare: only when a
// generation started while the flush ran). Generations are random tokens, never
// reused, so a lost generation key cannot bring old entries back.
// Limits: until the node with the missed write reaches Redis again, other nodes
// that still reach it may read entries without that write (a partial partition;
// bounded by CACHE_TTL_S except for not catch-all entries, whose status is final);
// a node killed in that state leaves them so. A plain outage, where nobody
// reaches Redis, reads from the store and leaves nothing stale behind.
import { Counts, DomainCounts } from '../../models';
import { ApplyOptions, CacheUnavailableError, CountDeltas, CounterStore, ListQuery, StatusCache } from '../../ports';
import { CacheObserver, WriteKind } from './cache-observer';

/** Merges allowed to run at once; past that a flush's rows are not cached (and count as missed). */
const MAX_MERGES_IN_FLIGHT = 8;

export class CachedCounterStore extends CounterStore {
  readonly kind: string;
  /** Domains whose new totals are being merged, with how many merges hold each. */
  private readonly merging = new Map<string, number>();
  private readonly merges = new Set<Promise<void>>();
  /** The last cache generation this node observed (from any reply). */
  private generation: string | undefined;
  /** Writes that may be missing from the cache, and how many of them a new generation covers. */
  private missed = 0;
  private covered = 0;
  private invalidating: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly inner: CounterStore,
    readonly cache: StatusCache,
    private readonly observer: CacheObserver = {},
  ) {
    super();
    this.kind = inner.kind;
  }

  /** Learns the cache's current generation; without it the first flush merges a second time. */
  async start(): Promise<void> {
    try {
      this.generation = (await this.cache.getMany([])).generation;
    } catch {
      // Redis is not up yet: the breaker and the next calls deal with it.
    }
  }

  /** True while a missed write is not yet covered by a new generation. */
  get suspect(): boolean {
    return this.missed > this.covered;
  }

  /** The cache needs the new totals, so they are always read from the inner store. */
  async apply(deltas: CountDeltas, options?: ApplyOptions): Promise<DomainCounts[]> {
    const observed = this.generation;
    const rows = await this.inner.apply(deltas, { totals: true });
    if (rows.length > 0) this.writeThrough(rows, observed);
    return options?.totals === false ? [] : rows;
  }

  /**
   * A write to the inner store made by another port over the same database
   * (a keyed batch: see CachedIdempotentBatchStore). Its totals are merged as
   * a flush's are, with the generation observed before the write.
   */
  async writeWith<T>(write: () => Promise<T>, totalsOf: (result: T) => DomainCounts[]): Promise<T> {
    const observed = this.generation;
    const result = await write();
    const rows = totalsOf(result);
    if (rows.length > 0) this.writeThrough(rows, observed);
    return result;
  }

  /** Resolves when every merge and invalidation started so far has landed or failed (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.merges.size > 0 || this.invalidating) {
      await Promise.all([...this.merges, this.invalidating]);
    }
  }

  async read(names: readonly string[]): Promise<Map<string, Counts>> {
    if (names.length === 0) return new Map();
    if (this.suspect) {
      this.invalidateIfSuspect();
      this.observer.lookups?.('bypass', names.length);
      return this.inner.read(names);
    }
    // Domains whose merge has not landed yet are read from the store.
    const viaCache = this.merging.size === 0 ? names : names.filter((name) => !this.merging.has(name));
    if (viaCache.length < names.length) this.observer.lookups?.('bypass', names.length - viaCache.length);
    if (viaCache.length === 0) return this.inner.read(names);
    let cached;
    try {
      cached = await this.cache.getMany(viaCache);
    } catch {
      this.observer.lookups?.('bypass', viaCache.length);
      return this.inner.read(names);
    }
    this.generation = cached.generation;
    const found = cached.hits;
    if (found.size > 0) this.observer.lookups?.('hit', found.size);
    if (viaCache.length - found.size > 0) this.observer.lookups?.('miss', viaCache.length - found.size);
    const fromStore = found.size === 0 ? names : names.filter((name) => !found.has(name));
    if (fromStore.length === 0) return found;
    const stored = await this.inner.read(fromStore);
    if (stored.size > 0) {
      this.fill(toRows(stored), cached.generation);
      for (const [name, counts] of stored) found.set(name, counts);
    }
    return found;
  }

  /** Listings read the store: a cache of single domains cannot answer a range. */
  list(query: ListQuery): Promise<DomainCounts[]> {
    return this.inner.list(query);
  }

  async ping(): Promise<void> {
    // Readiness is the store's: the service works without its cache.
    await this.inner.ping();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let the last merges land (each has a deadline) while the store can still be read.
    await this.settled();
    try {
      await this.inner.close();
    } finally {
      // Leave no stale entries behind if Redis is back by now.
      if (this.suspect) await this.cache.invalidate().catch(() => undefined);
      await this.cache.close();
    }
  }

  /** Starts merging a flush's new totals; a failure only makes the node suspect. */
  private writeThrough(rows: DomainCounts[], observed: string | undefined): void {
    if (this.merges.size >= MAX_MERGES_IN_FLIGHT) {
      this.observer.writes?.('flush', 'skipped', rows.length);
      this.missed++;
      this.invalidateIfSuspect();
      return;
    }
    for (const row of rows) this.merging.set(row.name, (this.merging.get(row.name) ?? 0) + 1);
    const merge: Promise<void> = this.mergeFlush(rows, observed).finally(() => {
      for (const row of rows) {
        const n = this.merging.get(row.name) ?? 1;
        if (n <= 1) this.merging.delete(row.name);
        else this.merging.set(row.name, n - 1);
      }
      this.merges.delete(merge);
      this.invalidateIfSuspect();
    });
    this.merges.add(merge);
  }

  private async mergeFlush(rows: DomainCounts[], observed: string | undefined): Promise<void> {
    try {
      let result = await this.cache.merge(rows, observed);
      this.generation = result.generation;
      if (!result.merged) {
        // A new generation started during (or before) the store write; its entries
        // may hold totals older than ours. Read ours again, after that generation.
        const fresh = await this.inner.read(rows.map((r) => r.name));
        result = await this.cache.merge(toRows(fresh), result.generation);
        this.generation = result.generation;
      }
      if (result.merged) {
        this.observer.writes?.('flush', 'merged', rows.length);
      } else {
        this.observer.writes?.('flush', 'stale', rows.length);
        this.missed++;
      }
    } catch (err) {
      this.writeFailed('flush', err, rows.length);
      this.missed++;
    }
  }

  /** Read-through fill; not awaited. A fill that fails or meets a newer generation is dropped. */
  private fill(rows: DomainCounts[], observed: string): void {
    this.cache.merge(rows, observed).then(
      (result) => {
        this.generation = result.generation;
        this.observer.writes?.('fill', result.merged ? 'merged' : 'stale', rows.length);
      },
      (err: unknown) => this.writeFailed('fill', err, rows.length),
    );
  }

  /** Starts a new generation once at a time; if Redis is still down, the next call tries again. */
  private invalidateIfSuspect(): void {
    if (!this.suspect || this.invalidating || this.closed) return;
    const upTo = this.missed;
    this.invalidating = this.cache
      .invalidate()
      .then(
        (generation) => {
          this.generation = generation;
          this.covered = Math.max(this.covered, upTo);
        },
        () => undefined,
      )
      .finally(() => {
        this.invalidating = undefined;
      });
  }

  private writeFailed(kind: WriteKind, err: unknown, rows: number): void {
    this.observer.writes?.(kind, err instanceof CacheUnavailableError ? 'skipped' : 'failed', rows);
  }
}

function toRows(counts: Map<string, Counts>): DomainCounts[] {
  const rows: DomainCounts[] = [];
  for (const [name, c] of counts) rows.push({ name, delivered: c.delivered, bounced: c.bounced });
  return rows;
}
