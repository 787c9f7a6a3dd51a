// Reads on one node never go down (ReadFence, through the ingest and lookup
// services): a read waits for flushes in flight that hold its domains, counts
// each local delta once, holds a hot domain out of flushes when it must, and
// the durable waiters of held events are answered only once those are stored.
import { Counts, DomainCounts, DomainName } from '../models';
import { CountDeltas, CounterStore, ListQuery } from '../ports';
import { MemoryCounterStore } from '../adapters/memory/memory-counter-store.adapter';
import { IngestService } from './ingest.service';
import { LookupService } from './lookup.service';

const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** apply() calls stay open until the test settles them; read() answers on the next turn. */
class ControlledStore extends CounterStore {
  readonly kind = 'controlled';
  readonly inner = new MemoryCounterStore();
  readonly open: Array<{ deltas: Map<string, Counts>; settle(): void }> = [];
  reads = 0;

  apply(deltas: CountDeltas): Promise<DomainCounts[]> {
    const copy = new Map([...deltas].map(([k, v]) => [k, { ...v }]));
    return new Promise((resolve) => {
      this.open.push({ deltas: copy, settle: () => void this.inner.apply(copy).then(resolve) });
    });
  }
  async read(names: readonly string[]): Promise<Map<string, Counts>> {
    this.reads++;
    await tick();
    return this.inner.read(names);
  }
  list(query: ListQuery): Promise<DomainCounts[]> {
    return this.inner.list(query);
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}

  settleNext(): void {
    const call = this.open.shift();
    if (!call) throw new Error('no open store call');
    call.settle();
  }
}

/**
 * A slow store like a database: a write becomes visible at a random moment
 * inside its call (the commit), and a read takes its snapshot at a random
 * moment inside its own, so a read racing a write may or may not see it.
 */
class SlowStore extends CounterStore {
  readonly kind = 'slow';
  readonly inner = new MemoryCounterStore();

  async apply(deltas: CountDeltas): Promise<DomainCounts[]> {
    const copy = new Map([...deltas].map(([k, v]) => [k, { ...v }]));
    await sleep(Math.random() * 3);
    await this.inner.apply(copy);
    await sleep(Math.random() * 3);
    return [];
  }
  async read(names: readonly string[]): Promise<Map<string, Counts>> {
    await sleep(Math.random() * 2);
    const rows = await this.inner.read(names);
    await sleep(Math.random() * 2);
    return rows;
  }
  list(query: ListQuery): Promise<DomainCounts[]> {
    return this.inner.list(query);
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

const d = (s: string) => s as DomainName;
const total = (c: { delivered: number; bounced: number }) => c.delivered + c.bounced;

async function settledState(p: Promise<unknown>): Promise<string> {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await tick();
  return state;
}

describe('reads that never go backwards', () => {
  it('waits for a flush in flight that holds the domain, then counts its deltas once', async () => {
    const store = new ControlledStore();
    const ingest = new IngestService(store, { ackMode: 'durable' });
    const lookups = new LookupService(store, ingest, 1000);
    const acks = [ingest.record('a.com', 'delivered')!, ingest.record('a.com', 'delivered')!];
    await tick();
    expect(store.open).toHaveLength(1); // in flight: neither pending nor stored
    const read = lookups.lookup(d('a.com'));
    expect(await settledState(read)).toBe('pending');
    acks.push(ingest.record('a.com', 'bounced')!); // pending, for the next flush
    store.settleNext();
    // The next flush takes the bounce while the reader reads: that try does not
    // count, and the reader waits for this flush too.
    await tick();
    expect(store.open).toHaveLength(1);
    expect(await settledState(read)).toBe('pending');
    store.settleNext();
    expect(await read).toMatchObject({ delivered: 2, bounced: 1 });
    await Promise.all(acks);
    expect(await lookups.lookup(d('a.com'))).toMatchObject({ delivered: 2, bounced: 1 });
  });

  it('does not wait for flushes of other domains (the fast path)', async () => {
    const store = new ControlledStore();
    const ingest = new IngestService(store, { ackMode: 'durable' });
    const lookups = new LookupService(store, ingest, 1000);
    const ack = ingest.record('a.com', 'delivered')!;
    await tick();
    expect(store.open).toHaveLength(1);
    expect(await lookups.lookup(d('b.com'))).toMatchObject({ delivered: 0 });
    store.settleNext();
    await ack;
  });

  it('holds a domain taken by back-to-back flushes; its held events are acknowledged only once stored', async () => {
    const store = new ControlledStore();
    const ingest = new IngestService(store, { ackMode: 'durable', maxConcurrentFlushes: 1 });
    const lookups = new LookupService(store, ingest, 1000);
    const first = ingest.record('a.com', 'delivered')!;
    await tick();
    const second = ingest.record('a.com', 'delivered')!; // pending behind the flush in flight
    const read = lookups.lookup(d('a.com'));
    // The first flush ends; the reader's optimistic try reads, and the next
    // flush (with `second`) starts during that read: the try does not count.
    store.settleNext();
    await first;
    while (ingest.stats().heldDomains === 0) await tick();
    expect(store.open).toHaveLength(1);
    expect(await settledState(read)).toBe('pending');
    // Now the reader holds a.com: a new event waits aside, no flush takes it.
    const held = ingest.record('a.com', 'bounced')!;
    store.settleNext();
    await second;
    expect(await read).toEqual({ domain: 'a.com', status: 'not catch-all', delivered: 2, bounced: 1 });
    // The hold ended with the read: the held event goes in the next flush, and
    // its request is answered only when that flush is stored.
    expect(await settledState(held)).toBe('pending');
    await tick();
    expect(store.open.map((c) => c.deltas)).toEqual([new Map([['a.com', { delivered: 0, bounced: 1 }]])]);
    expect(await settledState(held)).toBe('pending');
    store.settleNext();
    await held;
    expect(await lookups.lookup(d('a.com'))).toMatchObject({ delivered: 2, bounced: 1 });
  });

  it('never reads lower than before while writers hammer one domain (slow store, durable)', async () => {
    const store = new SlowStore();
    const ingest = new IngestService(store, { ackMode: 'durable', maxConcurrentFlushes: 4, ackTimeoutMs: 10_000 });
    const lookups = new LookupService(store, ingest, 1000);
    const deadline = Date.now() + 1500;
    let acked = 0;
    const writer = async () => {
      while (Date.now() < deadline) {
        await ingest.recordMany([
          { domain: 'hot.com', type: 'delivered' },
          { domain: 'warm.com', type: 'delivered' },
        ]);
        acked++;
      }
    };
    const readings: number[][] = [];
    const reader = async (name: string) => {
      const seen: number[] = [];
      while (Date.now() < deadline) seen.push(total(await lookups.lookup(d(name))));
      readings.push(seen);
    };
    await Promise.all([
      ...Array.from({ length: 8 }, writer),
      ...Array.from({ length: 4 }, () => reader('hot.com')),
      reader('warm.com'),
    ]);
    await ingest.idle();
    let reads = 0;
    for (const seen of readings) {
      reads += seen.length;
      for (let i = 1; i < seen.length; i++) if (seen[i] < seen[i - 1]) throw new Error(`went down: ${seen[i - 1]} then ${seen[i]}`);
    }
    // Neither readers nor writers starved.
    expect(reads).toBeGreaterThan(50);
    expect(acked).toBeGreaterThan(50);
    expect(await lookups.lookup(d('hot.com'))).toMatchObject({ delivered: acked });
    expect((await store.inner.read(['hot.com'])).get('hot.com')).toEqual({ delivered: acked, bounced: 0 });
  }, 20_000);

  it('answers 503 (StoreUnavailableError) rather than wait past its bound for a flush that hangs', async () => {
    const store = new ControlledStore();
    const ingest = new IngestService(store, { ackMode: 'durable', ackTimeoutMs: 50 });
    const lookups = new LookupService(store, ingest, 1000);
    void ingest.record('a.com', 'delivered')!.catch(() => undefined);
    await tick();
    await expect(lookups.lookup(d('a.com'))).rejects.toThrow(/being stored for more than 50 ms/);
    store.settleNext();
  });
});
