// The idempotent-batch service against the memory adapters: outcomes, the
// per-key wait on one node, its bounds, and pruning.
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryCounterStore } from '../adapters/memory/memory-counter-store.adapter';
import { MemoryIdempotentBatchStore } from '../adapters/memory/memory-idempotent-batch-store.adapter';
import { ApplyOptions, CountDeltas, CounterStore } from '../ports';
import { DomainCounts } from '../models';
import {
  AckTimeoutError,
  IdempotencyKeyInFlightError,
  IdempotencyKeyReusedError,
  NotStoredError,
  ShuttingDownError,
} from './errors';
import { IdempotentBatchService } from './idempotent-batch.service';

/** A memory counter store whose writes wait until released (a slow or locked database). */
class GatedStore extends MemoryCounterStore {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  fail: Error | undefined;

  closeGate(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  override async apply(deltas: CountDeltas, options?: ApplyOptions): Promise<DomainCounts[]> {
    if (this.gate) await this.gate;
    if (this.fail) throw this.fail;
    return super.apply(deltas, options);
  }
}

const ev = (domain: string, n: number) => Array.from({ length: n }, () => ({ domain, type: 'delivered' as const }));

function setup(options: Partial<ConstructorParameters<typeof IdempotentBatchService>[1]> = {}) {
  const counters = new GatedStore();
  const service = new IdempotentBatchService(new MemoryIdempotentBatchStore(counters), { waitMs: 200, ...options });
  const read = async (name: string) => (await (counters as CounterStore).read([name])).get(name);
  return { counters, service, read };
}

describe('IdempotentBatchService', () => {
  it('answers the first request and replays it to a retry', async () => {
    const { service, read } = setup();
    expect(await service.submit('k', 'fp', ev('a.com', 2))).toEqual({ status: 200, body: '{"accepted":2}', replayed: false });
    expect(await service.submit('k', 'fp', ev('a.com', 2))).toEqual({ status: 200, body: '{"accepted":2}', replayed: true });
    expect(await read('a.com')).toEqual({ delivered: 2, bounced: 0 });
  });

  it('refuses the key with another fingerprint, before and after the first one is stored', async () => {
    const { service, counters } = setup({ waitMs: 5_000 });
    counters.closeGate();
    const first = service.submit('k', 'fp-1', ev('a.com', 1));
    await expect(service.submit('k', 'fp-2', ev('a.com', 5))).rejects.toThrow(IdempotencyKeyReusedError);
    counters.release();
    await first;
    await expect(service.submit('k', 'fp-2', ev('a.com', 5))).rejects.toThrow(IdempotencyKeyReusedError);
  });

  it('makes a duplicate wait for the first request on this node, then replays it', async () => {
    const { service, counters, read } = setup({ waitMs: 2_000 });
    counters.closeGate();
    const first = service.submit('k', 'fp', ev('b.com', 3));
    const second = service.submit('k', 'fp', ev('b.com', 3));
    await sleep(20);
    counters.release();
    expect((await first).replayed).toBe(false);
    expect((await second).replayed).toBe(true);
    expect(await read('b.com')).toEqual({ delivered: 3, bounced: 0 });
  });

  it('answers 503 (AckTimeoutError) when the store does not answer in time, 409 to a duplicate still waiting, and applies once', async () => {
    const { service, counters, read } = setup({ waitMs: 100 });
    counters.closeGate();
    await expect(service.submit('k', 'fp', ev('c.com', 1))).rejects.toThrow(AckTimeoutError);
    await expect(service.submit('k', 'fp', ev('c.com', 1))).rejects.toThrow(IdempotencyKeyInFlightError);
    counters.release();
    await sleep(10);
    expect((await service.submit('k', 'fp', ev('c.com', 1))).replayed).toBe(true);
    expect(await read('c.com')).toEqual({ delivered: 1, bounced: 0 });
  });

  it('reports a store failure as not stored, and a retry then applies the batch', async () => {
    const { service, counters, read } = setup();
    counters.fail = new Error('connection refused');
    await expect(service.submit('k', 'fp', ev('d.com', 1))).rejects.toThrow(NotStoredError);
    counters.fail = undefined;
    expect((await service.submit('k', 'fp', ev('d.com', 1))).replayed).toBe(false);
    expect(await read('d.com')).toEqual({ delivered: 1, bounced: 0 });
  });

  it('bounds the keyed batches in flight: more wait for a slot, up to waitMs, then 503', async () => {
    const { service, counters, read } = setup({ maxInFlight: 2, waitMs: 300 });
    counters.closeGate();
    // a and b time out (503), but their store calls run on and hold the slots.
    const a = expect(service.submit('a', 'fp', ev('e.com', 1))).rejects.toThrow(AckTimeoutError);
    const b = expect(service.submit('b', 'fp', ev('e.com', 1))).rejects.toThrow(AckTimeoutError);
    // No slot frees within waitMs: a 503 (overloaded, or not confirmed: the same deadline), never applied.
    await expect(service.submit('c', 'fp', ev('e.com', 1))).rejects.toThrow(/retry later/);
    await Promise.all([a, b]);
    const d = service.submit('d', 'fp', ev('e.com', 1)); // waits for a slot
    await sleep(20);
    counters.release();
    expect((await d).replayed).toBe(false);
    expect(await read('e.com')).toEqual({ delivered: 3, bounced: 0 }); // a, b and d; never c
  });

  it('refuses new batches once closed', async () => {
    const { service } = setup();
    await service.close();
    await expect(service.submit('d', 'fp', ev('e.com', 1))).rejects.toThrow(ShuttingDownError);
  });

  it('prunes expired keys in rounds of pruneBatch', async () => {
    const counters = new MemoryCounterStore();
    const keyed = new MemoryIdempotentBatchStore(counters);
    const pruned: number[] = [];
    const service = new IdempotentBatchService(keyed, { ttlSeconds: 1, pruneBatch: 2 }, { pruned: (n) => pruned.push(n) });
    for (let i = 0; i < 5; i++) await service.submit(`k${i}`, 'fp', ev('f.com', 1));
    await sleep(1_100);
    await service.pruneNow();
    expect(pruned).toEqual([5]);
    expect(keyed.size).toBe(0);
  });
});
