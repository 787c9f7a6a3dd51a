import { BatchedPruner } from './batched-pruner';

describe('BatchedPruner', () => {
  it('deletes full batches until one comes back short, with one cutoff for the round', async () => {
    const seen: Array<[number, number]> = [];
    const left = [1000, 1000, 500];
    let reported: number | undefined;
    const pruner = new BatchedPruner({
      everyMs: 60_000,
      batch: 1000,
      maxBatches: 100,
      olderThanMs: 1000,
      deleteBatch: async (before, limit) => {
        seen.push([before.getTime(), limit]);
        return left.shift() ?? 0;
      },
      deleted: (total) => (reported = total),
    });
    expect(await pruner.pruneOnce()).toBe(2500);
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s[0])).size).toBe(1);
    expect(seen[0][0]).toBeLessThanOrEqual(Date.now() - 1000);
    expect(reported).toBe(2500);
  });

  it('stops a round at maxBatches, and reports a failure instead of throwing', async () => {
    let calls = 0;
    const bounded = new BatchedPruner({ everyMs: 60_000, batch: 10, maxBatches: 3, olderThanMs: 0, deleteBatch: async () => (++calls, 10) });
    expect(await bounded.pruneOnce()).toBe(30);
    expect(calls).toBe(3);
    const errors: unknown[] = [];
    const failing = new BatchedPruner({
      everyMs: 60_000,
      batch: 10,
      maxBatches: 3,
      olderThanMs: 0,
      deleteBatch: async () => {
        throw new Error('down');
      },
      failed: (err) => errors.push(err),
    });
    expect(await failing.pruneOnce()).toBe(0);
    expect(errors).toHaveLength(1);
  });

  it('runs a round at start, and stop() waits for it and prevents further batches', async () => {
    let release: () => void = () => undefined;
    let calls = 0;
    const pruner = new BatchedPruner({
      everyMs: 60_000,
      batch: 1,
      maxBatches: 10,
      olderThanMs: 0,
      deleteBatch: () => {
        calls++;
        return new Promise<number>((r) => (release = () => r(1)));
      },
    });
    pruner.start();
    expect(calls).toBe(1);
    const stopped = pruner.stop();
    release();
    await stopped;
    expect(calls).toBe(1);
  });
});
