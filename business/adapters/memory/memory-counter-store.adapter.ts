// The memory counter store: counts in this process only, for development, tests
// and single-node runs that can afford to lose everything on exit.
//
// Built to hold ~10 million domains in little memory: each domain is one entry
// in a Map from name to a small integer slot, and the counts live in two
// growable Float64Arrays indexed by slot (exact up to 2^53). No per-domain
// object is allocated. V8 caps one Map at 2^24 entries, so names are spread over
// several Maps by a cheap hash.
import { classify, Counts, DEFAULT_CATCHALL_THRESHOLD, DomainCounts, StatusTransition, detectTransition } from '../../models';
import { ApplyOptions, CountDeltas, CounterStore, ListQuery } from '../../ports';
import { MemoryChangeFeed } from './memory-change-feed.adapter';
import { MemoryStoreStats } from './memory-store-stats.adapter';

const SHARDS = 16;
const INITIAL_CAPACITY = 1 << 14;

export class MemoryCounterStore extends CounterStore {
  readonly kind = 'memory';
  private readonly shards: Map<string, number>[] = Array.from({ length: SHARDS }, () => new Map());
  private delivered = new Float64Array(INITIAL_CAPACITY);
  private bounced = new Float64Array(INITIAL_CAPACITY);
  private size = 0;

  /**
   * With a feed, apply records each status transition in it (threshold: the
   * catch-all rule's); with stats, it keeps them.
   */
  constructor(
    private readonly feed?: MemoryChangeFeed,
    private readonly threshold = DEFAULT_CATCHALL_THRESHOLD,
    private readonly stats?: MemoryStoreStats,
  ) {
    super();
  }

  /** Number of domains stored. */
  get domainCount(): number {
    return this.size;
  }

  async apply(deltas: CountDeltas, options?: ApplyOptions): Promise<DomainCounts[]> {
    // Validate first so that the batch is applied all or nothing.
    for (const c of deltas.values()) {
      if (!isCount(c.delivered) || !isCount(c.bounced)) {
        throw new RangeError('counts must be non-negative safe integers');
      }
    }
    const totals = options?.totals !== false;
    const rows: DomainCounts[] = totals ? new Array(deltas.size) : [];
    const transitions: StatusTransition[] = [];
    let i = 0;
    for (const [name, c] of deltas) {
      const known = this.size;
      const slot = this.slotFor(name);
      this.delivered[slot] += c.delivered;
      this.bounced[slot] += c.bounced;
      const after = { delivered: this.delivered[slot], bounced: this.bounced[slot] };
      if (totals) rows[i++] = { name, ...after };
      this.stats?.record(after, c, this.size > known);
      if (this.feed) {
        const t = detectTransition(name, after, c, this.threshold);
        if (t) transitions.push(t);
      }
    }
    if (transitions.length > 0) this.feed?.append(transitions);
    return rows;
  }

  async read(names: readonly string[]): Promise<Map<string, Counts>> {
    const out = new Map<string, Counts>();
    for (const name of names) {
      const slot = this.shards[shardOf(name)].get(name);
      if (slot !== undefined) out.set(name, { delivered: this.delivered[slot], bounced: this.bounced[slot] });
    }
    return out;
  }

  /**
   * A scan of every domain per page (no ordered index here): fine for the
   * development store, O(domains) a page. Keeps only the `limit` smallest
   * names after the cursor, so a page holds at most `limit` rows in memory.
   */
  async list(query: ListQuery): Promise<DomainCounts[]> {
    const { status, threshold, after, limit } = query;
    const best: string[] = [];
    let worst: string | undefined; // the largest name kept, once `best` is full
    for (const shard of this.shards) {
      for (const [name, slot] of shard) {
        if (after !== undefined && name <= after) continue;
        if (worst !== undefined && name >= worst) continue;
        if (status !== undefined && classify({ delivered: this.delivered[slot], bounced: this.bounced[slot] }, threshold) !== status) continue;
        best.push(name);
        if (best.length >= limit * 2) worst = trim(best, limit);
      }
    }
    if (best.length > limit) trim(best, limit);
    best.sort(byteOrder);
    return best.map((name) => {
      const slot = this.shards[shardOf(name)].get(name) as number;
      return { name, delivered: this.delivered[slot], bounced: this.bounced[slot] };
    });
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  private slotFor(name: string): number {
    const shard = this.shards[shardOf(name)];
    let slot = shard.get(name);
    if (slot === undefined) {
      slot = this.size++;
      if (slot >= this.delivered.length) this.grow();
      shard.set(name, slot);
    }
    return slot;
  }

  private grow(): void {
    const capacity = this.delivered.length * 2;
    const delivered = new Float64Array(capacity);
    delivered.set(this.delivered);
    const bounced = new Float64Array(capacity);
    bounced.set(this.bounced);
    this.delivered = delivered;
    this.bounced = bounced;
  }
}

/** Names compare by UTF-16 code units, which for ASCII (normalised names) is PostgreSQL's "C" byte order. */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Keeps the `limit` smallest names of `names` (in place) and returns the largest one kept. */
function trim(names: string[], limit: number): string | undefined {
  names.sort(byteOrder);
  names.length = limit;
  return names[limit - 1];
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** A cheap, stable spread of names over the shards (first, middle and last characters). */
function shardOf(name: string): number {
  const n = name.length;
  return (name.charCodeAt(0) * 31 + name.charCodeAt(n >> 1) * 7 + name.charCodeAt(n - 1) + n) & (SHARDS - 1);
}
