// The memory idempotent-batch store against the port's contract, and its bound.
import { batch, describeIdempotentBatchStoreContract } from '../../../test/contracts/idempotent-batch-store.contract';
import { IdempotencyKeysFullError } from '../../ports';
import { MemoryCounterStore } from './memory-counter-store.adapter';
import { MemoryIdempotentBatchStore } from './memory-idempotent-batch-store.adapter';

describeIdempotentBatchStoreContract('memory', async () => {
  const counters = new MemoryCounterStore();
  return { keyed: new MemoryIdempotentBatchStore(counters), counters, close: () => counters.close() };
});

describe('memory idempotent-batch store: bounded', () => {
  it('refuses new keys past maxKeys live keys, and takes them again once old ones expire', async () => {
    let now = 1_000_000;
    const counters = new MemoryCounterStore();
    const keyed = new MemoryIdempotentBatchStore(counters, { maxKeys: 3, now: () => now });
    for (let i = 0; i < 3; i++) await keyed.applyOnce(batch(`k${i}`, 'fp', { 'a.com': [1, 0] }, 10));
    await expect(keyed.applyOnce(batch('k3', 'fp', { 'a.com': [1, 0] }, 10))).rejects.toThrow(IdempotencyKeysFullError);
    // A known key is still answered while full.
    expect((await keyed.applyOnce(batch('k1', 'fp', { 'a.com': [1, 0] }, 10))).kind).toBe('replayed');
    expect((await counters.read(['a.com'])).get('a.com')).toEqual({ delivered: 3, bounced: 0 });
    now += 10_001;
    expect((await keyed.applyOnce(batch('k3', 'fp', { 'a.com': [1, 0] }, 10))).kind).toBe('applied');
    expect(keyed.size).toBe(1); // the three expired keys were pruned to make room
  });
});
