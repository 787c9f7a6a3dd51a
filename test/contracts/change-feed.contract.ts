// The change-feed port's contract (business/ports/change-feed.port.ts), run
// against every adapter: a counter store records transitions as it applies
// flushes, and the feed reads them back in order and wakes long-polls.
import { ChangeFeed, CounterStore } from '../../business/ports';
import { deltas } from './counter-store.contract';

interface FeedUnderTest {
  store: CounterStore;
  feed: ChangeFeed;
  close(): Promise<void>;
}

/** An empty store that records transitions with the given threshold into `feed`. */
export type MakeFeed = (threshold: number) => Promise<FeedUnderTest>;

const T = 10;

export function describeChangeFeedContract(name: string, make: MakeFeed): void {
  describe(`ChangeFeed contract: ${name}`, () => {
    let store: CounterStore;
    let feed: ChangeFeed;
    let subject: FeedUnderTest;

    beforeEach(async () => {
      subject = await make(T);
      ({ store, feed } = subject);
    });

    afterEach(async () => {
      await subject.close();
    });

    it('records a domain crossing the threshold once, and nothing for flushes that change no status', async () => {
      await store.apply(deltas({ 'a.com': [10, 0], 'b.com': [3, 0] }), { totals: false });
      expect(await feed.read(0, 100)).toEqual([]);
      await store.apply(deltas({ 'a.com': [1, 0] }), { totals: false });
      await store.apply(deltas({ 'a.com': [5, 0] }), { totals: true });
      const changes = await feed.read(0, 100);
      expect(changes).toHaveLength(1);
      expect(changes[0]).toMatchObject({ domain: 'a.com', from: 'unknown', to: 'catch-all', delivered: 11, bounced: 0 });
      expect(changes[0].id).toBeGreaterThan(0);
      expect(changes[0].at).toBeInstanceOf(Date);
    });

    it('records the net transition when one flush takes a domain unknown → catch-all → not catch-all', async () => {
      await store.apply(deltas({ 'a.com': [9, 0] }));
      await store.apply(deltas({ 'a.com': [5, 1] }));
      const changes = await feed.read(0, 100);
      expect(changes.map((c) => [c.domain, c.from, c.to, c.delivered, c.bounced])).toEqual([
        ['a.com', 'unknown', 'not catch-all', 14, 1],
      ]);
    });

    it('records catch-all → not catch-all on the first bounce, and nothing on later ones', async () => {
      await store.apply(deltas({ 'a.com': [20, 0] }));
      await store.apply(deltas({ 'a.com': [0, 1] }));
      await store.apply(deltas({ 'a.com': [0, 1] }));
      const changes = await feed.read(0, 100);
      expect(changes.map((c) => `${c.from}>${c.to}`)).toEqual(['unknown>catch-all', 'catch-all>not catch-all']);
    });

    it('reads in id order, after a cursor, at most limit', async () => {
      await store.apply(deltas({ 'a.com': [0, 1], 'b.com': [0, 1], 'c.com': [0, 1] }));
      await store.apply(deltas({ 'd.com': [0, 1] }));
      const all = await feed.read(0, 100);
      expect(all.map((c) => c.domain).sort()).toEqual(['a.com', 'b.com', 'c.com', 'd.com']);
      expect(all[3].domain).toBe('d.com');
      const ids = all.map((c) => c.id);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(new Set(ids).size).toBe(4);
      expect(await feed.read(ids[0], 2)).toEqual(all.slice(1, 3));
      expect(await feed.read(ids[3], 10)).toEqual([]);
    });

    it('wakes a waiter when a change after its cursor is recorded', async () => {
      await store.apply(deltas({ 'a.com': [0, 1] }));
      const [first] = await feed.read(0, 1);
      const waiting = feed.wait(first.id, Date.now() + 10_000);
      await store.apply(deltas({ 'b.com': [2, 0] })); // no transition: the waiter sleeps on
      await store.apply(deltas({ 'c.com': [0, 1] }));
      await expect(waiting).resolves.toBe(true);
      expect((await feed.read(first.id, 10)).map((c) => c.domain)).toEqual(['c.com']);
    });

    it('answers a wait at once when a change after the cursor exists', async () => {
      await store.apply(deltas({ 'a.com': [0, 1] }));
      await expect(feed.wait(0, Date.now() + 10_000)).resolves.toBe(true);
    });

    it('ends a wait at the deadline, and when the caller aborts', async () => {
      await expect(feed.wait(0, Date.now() + 50)).resolves.toBe(false);
      const ac = new AbortController();
      const waiting = feed.wait(0, Date.now() + 60_000, ac.signal);
      ac.abort();
      await expect(waiting).resolves.toBe(false);
    });

    it('prunes changes recorded before a date, in bounded batches', async () => {
      await store.apply(deltas({ 'a.com': [0, 1], 'b.com': [0, 1], 'c.com': [0, 1] }));
      expect(await feed.prune(new Date(Date.now() - 60_000), 10)).toBe(0);
      expect(await feed.prune(new Date(Date.now() + 60_000), 2)).toBe(2);
      expect(await feed.read(0, 10)).toHaveLength(1);
      expect(await feed.prune(new Date(Date.now() + 60_000), 2)).toBe(1);
      expect(await feed.read(0, 10)).toEqual([]);
    });
  });
}
