// The memory change feed against the change-feed contract, and its bound.
import { describeChangeFeedContract } from '../../../test/contracts/change-feed.contract';
import { deltas } from '../../../test/contracts/counter-store.contract';
import { MemoryChangeFeed } from './memory-change-feed.adapter';
import { MemoryCounterStore } from './memory-counter-store.adapter';

describeChangeFeedContract('memory', async (threshold) => {
  const feed = new MemoryChangeFeed();
  const store = new MemoryCounterStore(feed, threshold);
  return { store, feed, close: () => feed.close() };
});

describe('MemoryChangeFeed bound', () => {
  it('keeps only the latest `capacity` changes, and says it is not durable', async () => {
    const feed = new MemoryChangeFeed(3);
    const store = new MemoryCounterStore(feed, 10);
    for (const d of ['a.com', 'b.com', 'c.com', 'd.com', 'e.com']) await store.apply(deltas({ [d]: [0, 1] }));
    const kept = await feed.read(0, 100);
    expect(kept.map((c) => [c.id, c.domain])).toEqual([
      [3, 'c.com'],
      [4, 'd.com'],
      [5, 'e.com'],
    ]);
    expect((await feed.read(3, 100)).map((c) => c.domain)).toEqual(['d.com', 'e.com']);
    expect(feed.state()).toMatchObject({ durable: false, detail: { kept: 3, capacity: 3 } });
    expect(await feed.prune(new Date(Date.now() + 1000), 1)).toBe(1);
    expect((await feed.read(0, 100)).map((c) => c.domain)).toEqual(['d.com', 'e.com']);
  });
});
