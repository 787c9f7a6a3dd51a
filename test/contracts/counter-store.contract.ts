// The counter-store port's contract (business/ports/counter-store.port.ts), as
// one jest suite that every adapter runs: memory (unit test) and postgres
// (integration test against a real server).
import { Counts, DomainCounts, DomainStatus } from '../../business/models';
import { CountDeltas, CounterStore } from '../../business/ports';

/** Returns an empty store; the suite closes it after each test. */
export type MakeStore = () => Promise<CounterStore>;

export function describeCounterStoreContract(name: string, makeStore: MakeStore): void {
  describe(`CounterStore contract: ${name}`, () => {
    let store: CounterStore;

    beforeEach(async () => {
      store = await makeStore();
    });

    afterEach(async () => {
      await store.close();
    });

    it('returns the new totals of the domains it touched', async () => {
      const rows = await store.apply(deltas({ 'a.com': [3, 0], 'b.com': [0, 2], 'c.com': [1, 1] }));
      expect(sortRows(rows)).toEqual([
        { name: 'a.com', delivered: 3, bounced: 0 },
        { name: 'b.com', delivered: 0, bounced: 2 },
        { name: 'c.com', delivered: 1, bounced: 1 },
      ]);
    });

    it('stores the same without totals when the caller does not want them', async () => {
      await store.apply(deltas({ 'a.com': [3, 0], 'b.com': [0, 2] }), { totals: false });
      await store.apply(deltas({ 'a.com': [1, 1] }), { totals: false });
      expect(toObject(await store.read(['a.com', 'b.com']))).toEqual({
        'a.com': { delivered: 4, bounced: 1 },
        'b.com': { delivered: 0, bounced: 2 },
      });
      const rows = await store.apply(deltas({ 'b.com': [1, 0] }), { totals: true });
      expect(rows).toEqual([{ name: 'b.com', delivered: 1, bounced: 2 }]);
    });

    it('leaves never-seen domains out of a read', async () => {
      await store.apply(deltas({ 'seen.com': [1, 0] }));
      const got = await store.read(['seen.com', 'unseen.com', 'other.org']);
      expect([...got.keys()]).toEqual(['seen.com']);
      expect(got.get('seen.com')).toEqual({ delivered: 1, bounced: 0 });
      expect((await store.read([])).size).toBe(0);
    });

    it('adds across calls', async () => {
      await store.apply(deltas({ 'a.com': [1, 0], 'b.com': [5, 0] }));
      await store.apply(deltas({ 'a.com': [2, 1] }));
      const rows = await store.apply(deltas({ 'a.com': [10, 0], 'c.com': [0, 1] }));
      expect(sortRows(rows)).toEqual([
        { name: 'a.com', delivered: 13, bounced: 1 },
        { name: 'c.com', delivered: 0, bounced: 1 },
      ]);
      expect(toObject(await store.read(['a.com', 'b.com', 'c.com']))).toEqual({
        'a.com': { delivered: 13, bounced: 1 },
        'b.com': { delivered: 5, bounced: 0 },
        'c.com': { delivered: 0, bounced: 1 },
      });
    });

    it('takes domains in any order (the adapter orders them itself)', async () => {
      const names = Array.from({ length: 500 }, (_, i) => `d${(i * 7919) % 500}.example.com`);
      const first = new Map(names.map((n) => [n, { delivered: 1, bounced: 0 }]));
      const reversed = new Map([...names].reverse().map((n) => [n, { delivered: 1, bounced: 1 }]));
      await store.apply(first);
      const rows = await store.apply(reversed);
      expect(rows).toHaveLength(500);
      expect(new Set(rows.map((r) => r.name)).size).toBe(500);
      for (const r of rows) expect([r.delivered, r.bounced]).toEqual([2, 1]);
    });

    it('reads a name asked for twice once', async () => {
      await store.apply(deltas({ 'a.com': [1, 0] }));
      const got = await store.read(['a.com', 'a.com']);
      expect(toObject(got)).toEqual({ 'a.com': { delivered: 1, bounced: 0 } });
    });

    it('stores any key verbatim', async () => {
      // Names are validated before they reach a store; the store must still not
      // mangle characters that are special to its own encoding.
      const odd = ['null', 'NULL', 'a"b.com', 'c\\d.com', 'x,y.com', '{z}.com', ' sp.com', 'ünï.com'];
      await store.apply(new Map(odd.map((n, i) => [n, { delivered: i + 1, bounced: 0 }])));
      const got = await store.read(odd);
      expect(got.size).toBe(odd.length);
      odd.forEach((n, i) => expect(got.get(n)).toEqual({ delivered: i + 1, bounced: 0 }));
    });

    it('applies a large batch (50,000 domains) in one call', async () => {
      const n = 50_000;
      const batch = new Map<string, Counts>();
      for (let i = 0; i < n; i++) batch.set(`big-${i}.example.net`, { delivered: (i % 3) + 1, bounced: i % 2 });
      const rows = await store.apply(batch);
      expect(rows).toHaveLength(n);
      const got = await store.read([...batch.keys()]);
      expect(got.size).toBe(n);
      let delivered = 0;
      let bounced = 0;
      for (const c of got.values()) {
        delivered += c.delivered;
        bounced += c.bounced;
      }
      expect(delivered).toBe(sum(batch, 'delivered'));
      expect(bounced).toBe(sum(batch, 'bounced'));
    });

    it.each([
      ['negative', -1],
      ['NaN', Number.NaN],
      ['fractional', 1.5],
      ['infinite', Number.POSITIVE_INFINITY],
      ['beyond 2^53', 2 ** 53],
    ])('refuses a batch with a %s count and stores none of it', async (_label, bad) => {
      await store.apply(deltas({ 'ok.com': [1, 0] }));
      const batch = new Map<string, Counts>([
        ['ok.com', { delivered: 5, bounced: 0 }],
        ['new.com', { delivered: 1, bounced: 0 }],
        ['bad.com', { delivered: 1, bounced: bad }],
        ['zzz.com', { delivered: 1, bounced: 0 }],
      ]);
      await expect(store.apply(batch)).rejects.toThrow();
      expect(toObject(await store.read(['ok.com', 'new.com', 'bad.com', 'zzz.com']))).toEqual({
        'ok.com': { delivered: 1, bounced: 0 },
      });
      // The store is still usable afterwards.
      await store.apply(deltas({ 'ok.com': [1, 0] }));
      expect((await store.read(['ok.com'])).get('ok.com')).toEqual({ delivered: 2, bounced: 0 });
    });

    it('sums concurrent calls to overlapping domains exactly', async () => {
      const shared = Array.from({ length: 300 }, (_, i) => `shared-${i}.com`);
      const calls = 24;
      const work = Array.from({ length: calls }, (_, c) => {
        // Each call: every shared domain (in its own order) and some of its own.
        const order = c % 2 === 0 ? shared : [...shared].reverse();
        const batch = new Map<string, Counts>(order.map((n) => [n, { delivered: 1, bounced: c % 3 === 0 ? 1 : 0 }]));
        for (let i = 0; i < 50; i++) batch.set(`own-${c}-${i}.com`, { delivered: c + 1, bounced: 0 });
        return store.apply(batch);
      });
      await Promise.all(work);
      const bouncedPerShared = Array.from({ length: calls }, (_, c): number => (c % 3 === 0 ? 1 : 0)).reduce((a, b) => a + b, 0);
      const got = await store.read(shared);
      for (const n of shared) expect(got.get(n)).toEqual({ delivered: calls, bounced: bouncedPerShared });
      const own = await store.read(Array.from({ length: calls }, (_, c) => `own-${c}-0.com`));
      for (let c = 0; c < calls; c++) expect(own.get(`own-${c}-0.com`)).toEqual({ delivered: c + 1, bounced: 0 });
    });

    describe('list (keyset pages by name, filtered by status)', () => {
      // Names chosen so that byte order differs from a locale's ("B" < "a", "-" < "0").
      const seed = {
        'b.com': [5, 0], // unknown at 1000, catch-all at 3
        'a-b.com': [1001, 0], // catch-all
        'a0.com': [1000, 0], // unknown: the rule says more than the threshold
        'c.org': [2000, 1], // not catch-all
        'zz.net': [0, 3], // not catch-all
        'm.io': [0, 0],
      } satisfies Record<string, [number, number]>;
      const byName = Object.keys(seed).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

      beforeEach(async () => {
        await store.apply(deltas(seed));
      });

      async function walk(status: DomainStatus | undefined, limit: number, threshold = 1000): Promise<string[][]> {
        const pages: string[][] = [];
        let after: string | undefined;
        for (;;) {
          const rows = await store.list({ status, threshold, after, limit });
          expect(rows.length).toBeLessThanOrEqual(limit);
          if (rows.length === 0) return pages;
          pages.push(rows.map((r) => r.name));
          after = rows[rows.length - 1].name;
        }
      }

      it('walks every domain once, in byte order, with its counts', async () => {
        const rows = await store.list({ threshold: 1000, limit: 100 });
        expect(rows).toEqual(byName.map((name) => ({ name, delivered: seed[name as keyof typeof seed][0], bounced: seed[name as keyof typeof seed][1] })));
        expect((await walk(undefined, 4)).flat()).toEqual(byName);
        expect(await walk(undefined, 2)).toEqual([byName.slice(0, 2), byName.slice(2, 4), byName.slice(4, 6)]);
      });

      it('starts strictly after the given name, even one the store never saw', async () => {
        expect((await store.list({ threshold: 1000, after: 'b.com', limit: 10 })).map((r) => r.name)).toEqual(['c.org', 'm.io', 'zz.net']);
        expect((await store.list({ threshold: 1000, after: 'd', limit: 10 })).map((r) => r.name)).toEqual(['m.io', 'zz.net']);
        expect(await store.list({ threshold: 1000, after: 'zz.net', limit: 10 })).toEqual([]);
      });

      it('filters by the catch-all rule (the threshold the store writes with, 1000 here)', async () => {
        expect((await walk('not catch-all', 1)).flat()).toEqual(['c.org', 'zz.net']);
        expect((await walk('catch-all', 1)).flat()).toEqual(['a-b.com']);
        expect((await walk('unknown', 2)).flat()).toEqual(['a0.com', 'b.com', 'm.io']);
      });

      it('sees the status a domain has now', async () => {
        await store.apply(deltas({ 'a-b.com': [0, 1], 'm.io': [1001, 0] }));
        expect((await walk('catch-all', 10)).flat()).toEqual(['m.io']);
        expect((await walk('not catch-all', 10)).flat()).toEqual(['a-b.com', 'c.org', 'zz.net']);
      });

      it('pages through more domains than one page holds, across many calls', async () => {
        const many = new Map<string, Counts>();
        for (let i = 0; i < 1500; i++) many.set(`p${String(i).padStart(4, '0')}.com`, { delivered: i % 3 === 0 ? 1001 : 1, bounced: 0 });
        await store.apply(many);
        const names = (await walk('catch-all', 97)).flat();
        const expected = [...many].filter(([, c]) => c.delivered > 1000).map(([n]) => n);
        expect(names).toEqual(['a-b.com', ...expected]);
      });
    });

    it('answers ping while it can serve', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}

export function deltas(spec: Record<string, [number, number]>): CountDeltas {
  return new Map(Object.entries(spec).map(([name, [delivered, bounced]]) => [name, { delivered, bounced }]));
}

function sortRows(rows: DomainCounts[]): DomainCounts[] {
  return [...rows].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function toObject(map: Map<string, Counts>): Record<string, Counts> {
  return Object.fromEntries([...map].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function sum(batch: Map<string, Counts>, key: keyof Counts): number {
  let total = 0;
  for (const c of batch.values()) total += c[key];
  return total;
}
