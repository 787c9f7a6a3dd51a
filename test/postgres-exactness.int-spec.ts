// Exactness under concurrency: two service instances on one database, 64
// concurrent clients each, one hot domain and thousands of new domains at once.
// Every count must come out exact and no request may fail. Runs on plain
// PostgreSQL and on a 3-node Citus cluster (the service connects to the
// coordinator; `domains` is sharded across the two workers).
import { startServer } from '../app/main';
import { RunningServer } from '../app/server';
import { createCitusTestDatabase } from './support/citus';
import { closeAgent, request } from './support/http';
import { createTestDatabase, dropTestDatabase, storedCounts } from './support/postgres';

const CLIENTS_PER_NODE = 64;
const HOT = 'hot.exactness-test.com';

afterAll(() => closeAgent());

type Type = 'delivered' | 'bounced';
interface Event {
  domain: string;
  type: Type;
}

/** Expected totals per domain. */
function tally(events: Event[], into = new Map<string, { delivered: number; bounced: number }>()) {
  for (const e of events) {
    const c = into.get(e.domain) ?? { delivered: 0, bounced: 0 };
    c[e.type]++;
    into.set(e.domain, c);
  }
  return into;
}

/** A deterministic shuffle (no flaky orders between runs). */
function shuffle<T>(items: T[], seed = 42): T[] {
  let s = seed;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** Sends events with `clients` concurrent workers to one node; returns the statuses seen. */
async function sendAll(node: RunningServer, events: Event[], clients: number): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const e = events[next++];
      const res = await request(node.url, 'PUT', `/events/${e.domain}/${e.type}`);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  return statuses;
}

const ENGINES: Array<[string, (name: string) => Promise<string>, boolean]> = [
  ['PostgreSQL', (name) => createTestDatabase(name), true],
  // The shared cluster is deleted whole at the end of the run.
  ['Citus', (name) => createCitusTestDatabase(name), false],
];

describe.each(ENGINES)('two instances on one %s database', (engine, createDatabase, drop) => {
  let databaseUrl: string;
  let nodes: RunningServer[] = [];

  function env(): Record<string, string> {
    return {
      STORE: 'postgres',
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: '8',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
    };
  }

  beforeAll(async () => {
    databaseUrl = await createDatabase(`exactness_${engine.toLowerCase()}_test`);
    // Both at once: the migration lock lets one migrate while the other waits.
    nodes = await Promise.all([startServer(env()), startServer(env())]);
  });

  afterAll(async () => {
    for (const node of nodes) await node.close();
    if (drop && databaseUrl) await dropTestDatabase(databaseUrl);
  });

    it('count every event exactly under 64 concurrent clients each, with zero 5xx', async () => {
      const events: Event[] = [];
      for (let i = 0; i < 1000; i++) events.push({ domain: HOT, type: 'delivered' });
      for (let d = 0; d < 4000; d++) {
        const domain = `new-${d}.exactness-test.com`;
        events.push({ domain, type: 'delivered' });
        if (d % 2 === 0) events.push({ domain, type: d % 10 === 0 ? 'bounced' : 'delivered' });
      }
      shuffle(events);
      const halves = [events.filter((_, i) => i % 2 === 0), events.filter((_, i) => i % 2 === 1)];

      const results = await Promise.all(nodes.map((node, i) => sendAll(node, halves[i], CLIENTS_PER_NODE)));
      for (const statuses of results) expect(Object.fromEntries(statuses)).toEqual({ 204: expect.any(Number) });

      const want = tally(events);
      const got = await storedCounts(databaseUrl, [...want.keys()]);
      expect(got.size).toBe(want.size);
      const wrong = [...want].filter(([name, c]) => {
        const g = got.get(name);
        return !g || g.delivered !== c.delivered || g.bounced !== c.bounced;
      });
      expect(wrong).toEqual([]);
      expect(got.get(HOT)).toEqual({ delivered: 1000, bounced: 0 });

      // Both nodes read the same totals.
      for (const node of nodes) {
        const res = await request(node.url, 'GET', `/domains/${HOT}`);
        expect(res.body).toMatchObject({ domain: HOT, status: 'unknown', delivered: 1000, bounced: 0 });
      }
    });

    it('count NDJSON batches from both nodes exactly, overlapping the same domains', async () => {
      const batches: Event[][] = Array.from({ length: 24 }, (_, b) =>
        Array.from({ length: 1000 }, (_, i) => ({
          domain: i % 4 === 0 ? HOT : `batch-${(b * 1000 + i) % 3000}.exactness-test.com`,
          type: (i % 7 === 0 ? 'bounced' : 'delivered') as Type,
        })),
      );
      const before = (await storedCounts(databaseUrl, [HOT])).get(HOT) ?? { delivered: 0, bounced: 0 };
      const answers = await Promise.all(
        batches.map((batch, b) =>
          request(
            nodes[b % 2].url,
            'POST',
            '/events',
            batch.map((e) => JSON.stringify(e)).join('\n'),
            { 'content-type': 'application/x-ndjson' },
          ),
        ),
      );
      for (const a of answers) expect([a.status, a.body]).toEqual([200, { accepted: 1000 }]);

      const want = tally(batches.flat());
      const hot = want.get(HOT) ?? { delivered: 0, bounced: 0 };
      want.set(HOT, { delivered: hot.delivered + before.delivered, bounced: hot.bounced + before.bounced });
      const got = await storedCounts(databaseUrl, [...want.keys()]);
      for (const [name, c] of want) expect([name, got.get(name)]).toEqual([name, c]);
    });
});
