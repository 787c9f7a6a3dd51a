import { Counts, DomainCounts } from '../models';
import { CountDeltas, CounterStore } from '../ports';
import { MemoryCounterStore } from '../adapters/memory/memory-counter-store.adapter';
import { AckTimeoutError, NotStoredError, OverloadedError, ShuttingDownError } from './errors';
import { IngestOptions, IngestService } from './ingest.service';

/** A store whose apply() calls stay open until the test settles them. */
class ControlledStore extends CounterStore {
  readonly kind = 'controlled';
  readonly calls: Array<{ deltas: Map<string, Counts>; resolve: () => void; reject: (e: Error) => void }> = [];
  readonly totals = new Map<string, Counts>();

  apply(deltas: CountDeltas): Promise<DomainCounts[]> {
    const copy = new Map([...deltas].map(([k, v]) => [k, { ...v }]));
    return new Promise((resolve, reject) => {
      this.calls.push({
        deltas: copy,
        resolve: () => {
          for (const [k, v] of copy) {
            const t = this.totals.get(k) ?? { delivered: 0, bounced: 0 };
            this.totals.set(k, { delivered: t.delivered + v.delivered, bounced: t.bounced + v.bounced });
          }
          resolve([...copy].map(([name]) => ({ name, ...this.totals.get(name)! })));
        },
        reject,
      });
    });
  }
  async read(): Promise<Map<string, Counts>> {
    return new Map();
  }
  async list(): Promise<DomainCounts[]> {
    return [];
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}

  /** Settles the oldest open call. */
  settleNext(ok = true): void {
    const call = this.calls.find((c) => !('done' in c));
    if (!call) throw new Error('no open store call');
    Object.assign(call, { done: true });
    if (ok) call.resolve();
    else call.reject(new Error('store down'));
  }
  get openCalls(): number {
    return this.calls.filter((c) => !('done' in c)).length;
  }
}

const tick = () => new Promise((r) => setImmediate(r));
const settled = async (p: Promise<unknown>) => {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await tick();
  return state;
};

function service(store: CounterStore, opts: Partial<IngestOptions> = {}) {
  return new IngestService(store, { retryBaseMs: 5, retryMaxMs: 20, ...opts });
}

describe('IngestService (durable)', () => {
  it('coalesces events of one turn into one store call per flush', async () => {
    const store = new ControlledStore();
    const ingest = service(store);
    const acks = [
      ingest.record('a.com', 'delivered')!,
      ingest.record('a.com', 'delivered')!,
      ingest.record('a.com', 'bounced')!,
      ingest.record('b.com', 'delivered')!,
    ];
    await tick();
    expect(store.calls).toHaveLength(1);
    expect(store.calls[0].deltas).toEqual(
      new Map([
        ['a.com', { delivered: 2, bounced: 1 }],
        ['b.com', { delivered: 1, bounced: 0 }],
      ]),
    );
    store.settleNext();
    await Promise.all(acks);
  });

  it('acknowledges only after the store call succeeds', async () => {
    const store = new ControlledStore();
    const ingest = service(store);
    const ack = ingest.record('a.com', 'delivered')!;
    await tick();
    expect(await settled(ack)).toBe('pending');
    store.settleNext();
    expect(await settled(ack)).toBe('resolved');
  });

  it('runs flushes back to back: events that arrive during a flush go in the next one', async () => {
    const store = new ControlledStore();
    const ingest = service(store, { maxConcurrentFlushes: 1 });
    const first = ingest.record('a.com', 'delivered')!;
    await tick();
    const second = ingest.record('a.com', 'delivered')!;
    const third = ingest.record('b.com', 'bounced')!;
    await tick();
    expect(store.openCalls).toBe(1); // one flush at a time
    store.settleNext();
    await first;
    expect(await settled(second)).toBe('pending');
    await tick();
    expect(store.calls).toHaveLength(2);
    expect(store.calls[1].deltas.get('a.com')).toEqual({ delivered: 1, bounced: 0 });
    store.settleNext();
    await Promise.all([second, third]);
  });

  it('pipelines up to maxConcurrentFlushes flushes; the next waits for a free slot', async () => {
    const store = new ControlledStore();
    const ingest = service(store, { maxConcurrentFlushes: 2 });
    const acks = [ingest.record('a.com', 'delivered')!];
    await tick();
    acks.push(ingest.record('a.com', 'delivered')!);
    await tick();
    acks.push(ingest.record('a.com', 'delivered')!);
    await tick();
    expect(store.openCalls).toBe(2);
    store.settleNext();
    await acks[0];
    await tick();
    expect(store.openCalls).toBe(2); // the third batch took the free slot
    store.settleNext();
    store.settleNext();
    await Promise.all(acks);
    expect(store.totals.get('a.com')).toEqual({ delivered: 3, bounced: 0 });
    expect(ingest.backlog).toBe(0);
  });

  it('starts a flush beside others only while they hold at most concurrentFlushMaxDomains domains', async () => {
    const store = new ControlledStore();
    const ingest = service(store, { maxConcurrentFlushes: 4, concurrentFlushMaxDomains: 3 });
    const acks = [ingest.record('a.com', 'delivered')!];
    await tick();
    acks.push(ingest.record('b.com', 'delivered')!);
    await tick();
    expect(store.openCalls).toBe(2); // 1 + 1 domains: small enough to overlap
    acks.push(ingest.record('c.com', 'delivered')!, ingest.record('d.com', 'delivered')!);
    await tick();
    expect(store.openCalls).toBe(2); // 2 in flight + 2 pending > 3: waits
    store.settleNext();
    await acks[0];
    await tick();
    expect(store.openCalls).toBe(2); // 1 in flight + 2 = 3: may start now
    expect(store.calls[2].deltas.size).toBe(2);
    store.settleNext();
    store.settleNext();
    await Promise.all(acks);
    expect(ingest.backlog).toBe(0);
  });

  it('runs a large batch alone, however many flush slots are free', async () => {
    const store = new ControlledStore();
    const ingest = service(store, { maxConcurrentFlushes: 4, concurrentFlushMaxDomains: 10 });
    const first = ingest.recordMany(Array.from({ length: 20 }, (_, i) => ({ domain: `d${i}.com`, type: 'delivered' as const })))!;
    await tick();
    const second = ingest.record('a.com', 'delivered')!;
    await tick();
    expect(store.openCalls).toBe(1); // the 20-domain flush is in flight alone
    store.settleNext();
    await first;
    await tick();
    expect(store.openCalls).toBe(1);
    store.settleNext();
    await second;
    expect(ingest.backlog).toBe(0);
  });

  it('gives each waiting request most of ACK_TIMEOUT_MS, not what its batch had left', async () => {
    const store = new ControlledStore();
    const ingest = service(store, { ackTimeoutMs: 200, retryBaseMs: 10_000, retryMaxMs: 10_000, shutdownTimeoutMs: 50 });
    const early = ingest.record('a.com', 'delivered')!;
    const earlyAt = Date.now();
    await tick();
    store.settleNext(false); // the store is down; the next retry is far away
    await new Promise((r) => setTimeout(r, 120));
    const late = ingest.record('a.com', 'delivered')!;
    const lateAt = Date.now();
    await expect(early).rejects.toBeInstanceOf(AckTimeoutError);
    expect(Date.now() - earlyAt).toBeGreaterThanOrEqual(180);
    await expect(late).rejects.toBeInstanceOf(AckTimeoutError);
    expect(Date.now() - lateAt).toBeGreaterThanOrEqual(180);
    await expect(ingest.close()).rejects.toBeInstanceOf(NotStoredError);
  });

  it('keeps the deltas of a failed flush, retries, and acknowledges when they are stored', async () => {
    const store = new ControlledStore();
    const ingest = service(store);
    const ack = ingest.record('a.com', 'delivered')!;
    await tick();
    store.settleNext(false);
    expect(await settled(ack)).toBe('pending');
    const later = ingest.record('a.com', 'bounced')!;
    await new Promise((r) => setTimeout(r, 30)); // past the retry backoff
    expect(store.calls).toHaveLength(2);
    expect(store.calls[1].deltas.get('a.com')).toEqual({ delivered: 1, bounced: 1 });
    store.settleNext();
    await Promise.all([ack, later]);
    expect(store.totals.get('a.com')).toEqual({ delivered: 1, bounced: 1 });
    expect(ingest.backlog).toBe(0);
  });

  it('answers a waiting request with AckTimeoutError, never success, when the store stays down', async () => {
    const store = new ControlledStore();
    const ingest = service(store, { ackTimeoutMs: 30 });
    const ack = ingest.record('a.com', 'delivered')!;
    await tick();
    store.settleNext(false);
    await expect(ack).rejects.toBeInstanceOf(AckTimeoutError);
    // The event is still kept (pending or in a retry), not dropped.
    expect(ingest.backlog).toBe(1);
  });

  it('refuses events past MAX_PENDING_EVENTS with OverloadedError and counts nothing of them', async () => {
    const store = new ControlledStore();
    const ingest = service(store, { maxPendingEvents: 3 });
    const acks = [ingest.record('a.com', 'delivered'), ingest.record('a.com', 'delivered')];
    expect(() => ingest.recordMany([
      { domain: 'b.com', type: 'delivered' },
      { domain: 'b.com', type: 'delivered' },
    ])).toThrow(OverloadedError);
    acks.push(ingest.record('a.com', 'delivered'));
    expect(() => ingest.record('a.com', 'delivered')).toThrow(OverloadedError);
    await tick();
    // Events in flight still count against the bound.
    expect(() => ingest.record('c.com', 'delivered')).toThrow(OverloadedError);
    store.settleNext();
    await Promise.all(acks);
    expect(store.totals.get('a.com')).toEqual({ delivered: 3, bounced: 0 });
    expect(store.totals.has('b.com')).toBe(false);
    const room = ingest.record('c.com', 'delivered'); // room again
    await tick();
    store.settleNext();
    await room;
  });

  it('splits a flush larger than FLUSH_MAX_DOMAINS into several store calls', async () => {
    const store = new ControlledStore();
    const ingest = service(store, { flushMaxDomains: 2 });
    const ack = ingest.recordMany(['a.com', 'b.com', 'c.com', 'd.com', 'e.com'].map((domain) => ({ domain, type: 'delivered' as const })))!;
    for (let i = 0; i < 3; i++) {
      await tick();
      expect(await settled(ack)).toBe('pending');
      store.settleNext();
    }
    await ack;
    expect(store.calls.map((c) => c.deltas.size)).toEqual([2, 2, 1]);
  });

  it('stores the chunks of one flush side by side, up to maxConcurrentFlushes at once', async () => {
    const store = new ControlledStore();
    const ingest = service(store, { flushMaxDomains: 2, maxConcurrentFlushes: 2 });
    const ack = ingest.recordMany(['a.com', 'b.com', 'c.com', 'd.com', 'e.com'].map((domain) => ({ domain, type: 'delivered' as const })))!;
    await tick();
    expect(store.openCalls).toBe(2);
    store.settleNext();
    await tick();
    expect(store.openCalls).toBe(2); // the third chunk took the free place
    store.settleNext();
    store.settleNext();
    await ack;
    expect(store.calls.map((c) => c.deltas.size)).toEqual([2, 2, 1]);
    expect(ingest.backlog).toBe(0);
  });

  it('retries only the chunks that were not stored', async () => {
    const store = new ControlledStore();
    const ingest = service(store, { flushMaxDomains: 2, maxConcurrentFlushes: 2 });
    const ack = ingest.recordMany(['a.com', 'b.com', 'c.com', 'd.com'].map((domain) => ({ domain, type: 'delivered' as const })))!;
    await tick();
    expect(store.openCalls).toBe(2);
    store.settleNext(true);
    store.settleNext(false);
    await new Promise((r) => setTimeout(r, 20)); // the retry backoff (5 ms)
    expect(store.calls).toHaveLength(3);
    expect([...store.calls[2].deltas.keys()]).toEqual([...store.calls[1].deltas.keys()]);
    store.settleNext();
    await ack;
    for (const d of ['a.com', 'b.com', 'c.com', 'd.com']) expect(store.totals.get(d)).toEqual({ delivered: 1, bounced: 0 });
    expect(ingest.backlog).toBe(0);
  });

  it('flushes everything on close and refuses new events after', async () => {
    const store = new MemoryCounterStore();
    const ingest = service(store, { ackMode: 'buffered', flushIntervalMs: 60_000 });
    void ingest.record('a.com', 'delivered');
    void ingest.record('a.com', 'bounced');
    await ingest.close();
    expect((await store.read(['a.com'])).get('a.com')).toEqual({ delivered: 1, bounced: 1 });
    expect(() => ingest.record('a.com', 'delivered')).toThrow(ShuttingDownError);
  });

  it('on close, rejects waiters with NotStoredError if the store stays down past the deadline', async () => {
    const store = new ControlledStore();
    const ingest = service(store, { shutdownTimeoutMs: 50, ackTimeoutMs: 10_000 });
    const ack = ingest.record('a.com', 'delivered')!;
    const failing = setInterval(() => store.openCalls > 0 && store.settleNext(false), 1);
    await expect(ingest.close()).rejects.toBeInstanceOf(NotStoredError);
    clearInterval(failing);
    await expect(ack).rejects.toBeInstanceOf(NotStoredError);
  });
});

describe('IngestService (buffered)', () => {
  it('answers at once and flushes after FLUSH_INTERVAL_MS', async () => {
    const store = new ControlledStore();
    const ingest = service(store, { ackMode: 'buffered', flushIntervalMs: 20 });
    expect(ingest.record('a.com', 'delivered')).toBeUndefined();
    await tick();
    expect(store.calls).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 40));
    expect(store.calls).toHaveLength(1);
    store.settleNext();
  });

  it('flushes early when the pending map reaches FLUSH_MAX_DOMAINS', async () => {
    const store = new ControlledStore();
    const ingest = service(store, { ackMode: 'buffered', flushIntervalMs: 60_000, flushMaxDomains: 3 });
    void ingest.record('a.com', 'delivered');
    void ingest.record('b.com', 'delivered');
    await tick();
    expect(store.calls).toHaveLength(0);
    void ingest.record('c.com', 'delivered');
    await tick();
    expect(store.calls).toHaveLength(1);
    store.settleNext();
    await ingest.close();
  });

  it('exposes unflushed deltas for read-your-writes, and not once they are stored', async () => {
    const store = new MemoryCounterStore();
    const ingest = service(store, { ackMode: 'buffered', flushIntervalMs: 60_000 });
    void ingest.record('a.com', 'delivered');
    void ingest.record('a.com', 'delivered');
    const local = async (names: string[]) => (await ingest.readWithLocal(names, async () => undefined)).local;
    expect(await local(['a.com', 'b.com'])).toEqual(new Map([['a.com', { delivered: 2, bounced: 0 }]]));
    await ingest.idle();
    expect((await local(['a.com'])).size).toBe(0);
    expect((await store.read(['a.com'])).get('a.com')).toEqual({ delivered: 2, bounced: 0 });
  });
});
