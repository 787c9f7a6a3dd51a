// The opaque trace hooks of the ingest observer: handles given with events reach
// the flush that stores them (capped), survive a failed flush, and whatever
// flushStarted returns comes back when that flush ends.
import { Counts, DomainCounts } from '../models';
import { CountDeltas, CounterStore, FlushReport, FlushStart, IngestObserver } from '../ports';
import { MemoryCounterStore } from '../adapters/memory/memory-counter-store.adapter';
import { IngestService } from './ingest.service';

class FlakyStore extends CounterStore {
  readonly kind = 'flaky';
  private readonly inner = new MemoryCounterStore();
  failNext = 0;
  apply(deltas: CountDeltas): Promise<DomainCounts[]> {
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error('store down'));
    }
    return this.inner.apply(deltas);
  }
  read(names: readonly string[]): Promise<Map<string, Counts>> {
    return this.inner.read(names);
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

function recorder() {
  const starts: FlushStart[] = [];
  const ends: Array<{ ok: boolean; report: FlushReport; token: unknown }> = [];
  const observer: IngestObserver = {
    flushStarted: (s) => {
      starts.push({ ...s, traces: [...s.traces] });
      return { flush: starts.length };
    },
    flushSucceeded: (report, token) => ends.push({ ok: true, report, token }),
    flushFailed: (report, _err, _retry, token) => ends.push({ ok: false, report, token }),
  };
  return { starts, ends, observer };
}

describe('IngestService trace hooks', () => {
  it('hands the handles of a flush’s events to flushStarted and its token back at the end', async () => {
    const { starts, ends, observer } = recorder();
    const ingest = new IngestService(new MemoryCounterStore(), { ackMode: 'durable' }, observer);
    await Promise.all([
      ingest.record('a.com', 'delivered', 'req-1'),
      ingest.record('b.com', 'bounced'),
      ingest.recordMany(
        [
          { domain: 'a.com', type: 'delivered' },
          { domain: 'c.com', type: 'delivered' },
        ],
        'req-2',
      ),
    ]);
    expect(starts).toEqual([{ domains: 3, events: 4, chunks: 1, traces: ['req-1', 'req-2'] }]);
    expect(ends).toEqual([{ ok: true, report: expect.objectContaining({ domains: 3, events: 4 }), token: { flush: 1 } }]);
  });

  it('caps the handles one flush carries', async () => {
    const { starts, observer } = recorder();
    const ingest = new IngestService(new MemoryCounterStore(), { ackMode: 'buffered', maxTracesPerFlush: 3 }, observer);
    // Buffered mode: record() answers at once and returns nothing to await.
    for (let i = 0; i < 10; i++) expect(ingest.record(`d${i}.com`, 'delivered', `req-${i}`)).toBeUndefined();
    await ingest.idle();
    expect(starts).toHaveLength(1);
    expect(starts[0].traces).toEqual(['req-0', 'req-1', 'req-2']);
    expect(starts[0].events).toBe(10);
  });

  it('carries the handles of a failed flush over to the flush that stores its events', async () => {
    const { starts, ends, observer } = recorder();
    const store = new FlakyStore();
    store.failNext = 1;
    const ingest = new IngestService(store, { ackMode: 'durable', retryBaseMs: 1, retryMaxMs: 2 }, observer);
    await ingest.record('a.com', 'delivered', 'req-1');
    expect(ends.map((e) => e.ok)).toEqual([false, true]);
    expect(ends.map((e) => e.token)).toEqual([{ flush: 1 }, { flush: 2 }]);
    expect(starts.map((s) => s.traces)).toEqual([['req-1'], ['req-1']]);
  });

  it('works without any trace hook or handle', async () => {
    const ingest = new IngestService(new MemoryCounterStore(), { ackMode: 'durable' }, {});
    await expect(ingest.record('a.com', 'delivered')).resolves.toBeUndefined();
  });
});
