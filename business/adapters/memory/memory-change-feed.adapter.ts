// The memory change feed: the latest transitions, in this process only, in a
// bounded ring (the oldest are dropped past `capacity`, and all are lost on
// exit). The memory counter store appends to it inside apply, which runs to
// completion without yielding, so ids are in apply order. state() says it is
// not durable, so /health and the docs can tell users.
import { StatusTransition } from '../../models';
import { Change, ChangeFeed, ChangeFeedState } from '../../ports';
import { MonotoneSignal } from '../../../foundation/sync/monotone-signal';

const DEFAULT_MEMORY_FEED_CAPACITY = 100_000;

export class MemoryChangeFeed extends ChangeFeed {
  readonly kind = 'memory';
  private ring: Change[] = [];
  /** Index in `ring` of the oldest change. */
  private head = 0;
  private readonly signal = new MonotoneSignal(0);

  constructor(private readonly capacity = DEFAULT_MEMORY_FEED_CAPACITY) {
    super();
    if (!(capacity >= 1)) throw new RangeError('capacity must be at least 1');
  }

  /** Records transitions (called by the memory counter store). */
  append(transitions: readonly StatusTransition[], at = new Date()): void {
    let id = this.signal.value;
    for (const t of transitions) {
      const change: Change = { id: ++id, ...t, at };
      if (this.ring.length < this.capacity) this.ring.push(change);
      else {
        this.ring[this.head] = change;
        this.head = (this.head + 1) % this.capacity;
      }
    }
    this.signal.advance(id);
  }

  async read(after: number, limit: number): Promise<Change[]> {
    const n = this.ring.length;
    if (n === 0 || after >= this.signal.value) return [];
    const oldest = this.ring[this.head].id;
    // Ids in the ring are consecutive, so the first one after `after` is found by arithmetic.
    const skip = Math.max(0, after + 1 - oldest);
    const out: Change[] = [];
    for (let i = skip; i < n && out.length < limit; i++) out.push(this.ring[(this.head + i) % n]);
    return out;
  }

  wait(after: number, deadline: number, signal?: AbortSignal): Promise<boolean> {
    return this.signal.wait(after, deadline, signal);
  }

  async prune(before: Date, batch: number): Promise<number> {
    // Rotate so the oldest is at index 0 (appends then push again), then cut the front.
    if (this.head !== 0) this.ring = this.ring.slice(this.head).concat(this.ring.slice(0, this.head));
    this.head = 0;
    let n = 0;
    while (n < batch && n < this.ring.length && this.ring[n].at < before) n++;
    this.ring.splice(0, n);
    return n;
  }

  state(): ChangeFeedState {
    return {
      durable: false,
      detail: { kind: 'memory', kept: this.ring.length, capacity: this.capacity, note: 'in this process only; oldest dropped past capacity' },
    };
  }

  async close(): Promise<void> {
    this.signal.releaseAll();
  }
}
