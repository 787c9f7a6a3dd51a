// The ingest observer's one hook around a flush: called as the flush takes
// the pending map, with its size; the flush is written once whatever the
// observer does, and acknowledged only after the observer has seen the result.
import { Counts, DomainCounts } from '../models';
import { CountDeltas, CounterStore, ListQuery, FlushResult, FlushStart, IngestObserver } from '../ports';
import { MemoryCounterStore } from '../adapters/memory/memory-counter-store.adapter';
import { IngestService } from './ingest.service';

class FlakyStore extends CounterStore {
  readonly kind = 'flaky';
  readonly inner = new MemoryCounterStore();
  failNext = 0;
  applies = 0;
  apply(deltas: CountDeltas): Promise<DomainCounts[]> {
    this.applies++;
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error('store down'));
    }
    return this.inner.apply(deltas);
  }
  read(names: readonly string[]): Promise<Map<string, Counts>> {
    return this.inner.read(names);
  }
  list(query: ListQuery): Promise<DomainCounts[]> {
    return this.inner.list(query);
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

function recorder() {
  const seen: Array<{ start: FlushStart; result: FlushResult }> = [];
  const observer: IngestObserver = {
    async aroundFlush(start, write) {
      const result = await write();
      seen.push({ start, result });
    },
  };
  return { seen, observer };
}

describe('IngestService aroundFlush', () => {
  it('reports each flush with its size and how it went', async () => {
    const { seen, observer } = recorder();
    const ingest = new IngestService(new MemoryCounterStore(), { ackMode: 'durable' }, observer);
    await Promise.all([
      ingest.record('a.com', 'delivered'),
      ingest.record('b.com', 'bounced'),
      ingest.recordMany([
        { domain: 'a.com', type: 'delivered' },
        { domain: 'c.com', type: 'delivered' },
      ]),
    ]);
    expect(seen).toEqual([
      {
        start: { domains: 3, events: 4, chunks: 1 },
        result: { ok: true, report: { domains: 3, events: 4, chunks: 1, durationMs: expect.any(Number) } },
      },
    ]);
  });

  it('reports a failed flush with its error and retry delay, then the retry that stores it', async () => {
    const { seen, observer } = recorder();
    const store = new FlakyStore();
    store.failNext = 1;
    const ingest = new IngestService(store, { ackMode: 'durable', retryBaseMs: 1, retryMaxMs: 2 }, observer);
    await ingest.record('a.com', 'delivered');
    expect(seen.map((s) => s.result)).toEqual([
      { ok: false, report: expect.objectContaining({ events: 1 }), error: new Error('store down'), retryInMs: 1 },
      { ok: true, report: expect.objectContaining({ events: 1 }) },
    ]);
  });

  it('acknowledges only after the observer has recorded the result', async () => {
    const order: string[] = [];
    const ingest = new IngestService(new MemoryCounterStore(), { ackMode: 'durable' }, {
      async aroundFlush(_start, write) {
        await write();
        await new Promise((r) => setTimeout(r, 5));
        order.push('observed');
      },
    });
    await ingest.record('a.com', 'delivered');
    order.push('acked');
    expect(order).toEqual(['observed', 'acked']);
  });

  it('writes a flush exactly once even if the observer misbehaves', async () => {
    const store = new FlakyStore();
    const ingest = new IngestService(store, { ackMode: 'durable' }, {
      async aroundFlush(_start, write) {
        void write();
        void write();
        throw new Error('observer bug');
      },
    });
    await ingest.record('a.com', 'delivered');
    expect(store.applies).toBe(1);
    expect((await store.inner.read(['a.com'])).get('a.com')).toEqual({ delivered: 1, bounced: 0 });
    const skipping = new IngestService(store, { ackMode: 'durable' }, { aroundFlush: async () => undefined });
    await skipping.record('b.com', 'delivered');
    expect((await store.inner.read(['b.com'])).get('b.com')).toEqual({ delivered: 1, bounced: 0 });
  });

  it('works without an observer', async () => {
    const ingest = new IngestService(new MemoryCounterStore(), { ackMode: 'durable' });
    await expect(ingest.record('a.com', 'delivered')).resolves.toBeUndefined();
  });
});
