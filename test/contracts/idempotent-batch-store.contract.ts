// The idempotent-batch-store port's contract (business/ports/idempotent-batch-store.port.ts),
// run against every adapter: memory (unit test) and postgres (integration test).
import { setTimeout as sleep } from 'node:timers/promises';
import { Counts } from '../../business/models';
import { CounterStore, IdempotentBatchStore, KeyedBatch } from '../../business/ports';

interface KeyedStores {
  keyed: IdempotentBatchStore;
  /** The counter store the keyed batches write to, for reading counts back. */
  counters: CounterStore;
  close(): Promise<void>;
}

/** Returns stores over an empty database; the suite closes them after each test. */
export type MakeKeyedStores = () => Promise<KeyedStores>;

export function describeIdempotentBatchStoreContract(name: string, make: MakeKeyedStores): void {
  describe(`IdempotentBatchStore contract: ${name}`, () => {
    let s: KeyedStores;

    beforeEach(async () => {
      s = await make();
    });

    afterEach(async () => {
      await s.close();
    });

    it('applies a key once and replays the recorded answer afterwards', async () => {
      const first = await s.keyed.applyOnce(batch('k1', 'fp-a', { 'a.com': [2, 0], 'b.com': [0, 1] }));
      expect(first.kind).toBe('applied');
      expect(first.kind === 'applied' && sortByName(first.totals)).toEqual([
        { name: 'a.com', delivered: 2, bounced: 0 },
        { name: 'b.com', delivered: 0, bounced: 1 },
      ]);
      const again = await s.keyed.applyOnce(batch('k1', 'fp-a', { 'a.com': [2, 0], 'b.com': [0, 1] }));
      expect(again).toEqual({ kind: 'replayed', fingerprint: 'fp-a', answer: { status: 200, body: '{"accepted":3}' } });
      expect(await counts(s.counters, ['a.com', 'b.com'])).toEqual({ 'a.com': [2, 0], 'b.com': [0, 1] });
    });

    it('returns the first fingerprint for a reused key and adds nothing', async () => {
      await s.keyed.applyOnce(batch('k2', 'fp-a', { 'a.com': [1, 0] }));
      const other = await s.keyed.applyOnce(batch('k2', 'fp-b', { 'a.com': [0, 5] }));
      expect(other).toMatchObject({ kind: 'replayed', fingerprint: 'fp-a' });
      expect(await counts(s.counters, ['a.com'])).toEqual({ 'a.com': [1, 0] });
    });

    it('keeps keys apart and adds to counts written by flushes', async () => {
      await s.counters.apply(new Map([['a.com', { delivered: 10, bounced: 0 }]]));
      await s.keyed.applyOnce(batch('k3', 'fp', { 'a.com': [1, 0] }));
      await s.keyed.applyOnce(batch('k4', 'fp', { 'a.com': [1, 0] }));
      expect(await counts(s.counters, ['a.com'])).toEqual({ 'a.com': [12, 0] });
    });

    it('applies concurrent calls with one key exactly once', async () => {
      const calls = Array.from({ length: 12 }, () => s.keyed.applyOnce(batch('same', 'fp', { 'c.com': [1, 1] })));
      const outcomes = await Promise.all(calls);
      expect(outcomes.filter((o) => o.kind === 'applied')).toHaveLength(1);
      expect(outcomes.filter((o) => o.kind === 'replayed')).toHaveLength(11);
      expect(await counts(s.counters, ['c.com'])).toEqual({ 'c.com': [1, 1] });
    });

    it('leaves the key absent when the batch is refused, so a retry applies it', async () => {
      const bad = batch('k5', 'fp', { 'ok.com': [1, 0] });
      (bad.deltas as Map<string, Counts>).set('bad.com', { delivered: -1, bounced: 0 });
      await expect(s.keyed.applyOnce(bad)).rejects.toThrow();
      expect(await counts(s.counters, ['ok.com', 'bad.com'])).toEqual({});
      const retry = await s.keyed.applyOnce(batch('k5', 'fp', { 'ok.com': [1, 0] }));
      expect(retry.kind).toBe('applied');
      expect(await counts(s.counters, ['ok.com'])).toEqual({ 'ok.com': [1, 0] });
    });

    it('treats an expired key as absent and prunes expired keys', async () => {
      await s.keyed.applyOnce(batch('old', 'fp-a', { 'e.com': [1, 0] }, 1));
      await s.keyed.applyOnce(batch('live', 'fp-a', { 'e.com': [1, 0] }, 3600));
      await sleep(1_100);
      const again = await s.keyed.applyOnce(batch('old', 'fp-b', { 'e.com': [1, 0] }, 1));
      expect(again.kind).toBe('applied');
      expect(await counts(s.counters, ['e.com'])).toEqual({ 'e.com': [3, 0] });
      await sleep(1_100);
      expect(await s.keyed.prune(100)).toBe(1); // "old" again; "live" stays
      expect(await s.keyed.prune(100)).toBe(0);
      const live = await s.keyed.applyOnce(batch('live', 'fp-a', { 'e.com': [1, 0] }));
      expect(live.kind).toBe('replayed');
    });

    it('prunes in bounded rounds', async () => {
      for (let i = 0; i < 5; i++) await s.keyed.applyOnce(batch(`p${i}`, 'fp', { 'p.com': [1, 0] }, 1));
      await sleep(1_100);
      expect(await s.keyed.prune(2)).toBe(2);
      expect(await s.keyed.prune(2)).toBe(2);
      expect(await s.keyed.prune(2)).toBe(1);
    });

    it('stores any printable key verbatim', async () => {
      const keys = ['"quoted"', "it's", 'back\\slash', '{a,b}', 'x'.repeat(255), ' spaced key '];
      for (const k of keys) expect((await s.keyed.applyOnce(batch(k, 'fp', { 'v.com': [1, 0] }))).kind).toBe('applied');
      for (const k of keys) expect((await s.keyed.applyOnce(batch(k, 'fp', { 'v.com': [1, 0] }))).kind).toBe('replayed');
      expect(await counts(s.counters, ['v.com'])).toEqual({ 'v.com': [keys.length, 0] });
    });
  });
}

export function batch(key: string, fingerprint: string, spec: Record<string, [number, number]>, ttlSeconds = 3600): KeyedBatch {
  const deltas = new Map(Object.entries(spec).map(([name, [delivered, bounced]]) => [name, { delivered, bounced }]));
  let events = 0;
  for (const c of deltas.values()) events += c.delivered + c.bounced;
  return { key, fingerprint, deltas, answer: { status: 200, body: JSON.stringify({ accepted: events }) }, ttlSeconds };
}

async function counts(store: CounterStore, names: string[]): Promise<Record<string, [number, number]>> {
  const got = await store.read(names);
  return Object.fromEntries([...got].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, c]) => [n, [c.delivered, c.bounced]]));
}

function sortByName<T extends { name: string }>(rows: T[]): T[] {
  return [...rows].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
