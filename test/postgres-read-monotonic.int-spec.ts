// Reads never go backwards on one node (DESIGN §2; issue 10, defect 6): one
// service on a real PostgreSQL in durable mode, writers hammering three
// domains (so every flush holds them) while readers on the same node poll
// GET /domains/{d} and POST /domains/lookup. No reader may ever see a lower
// delivered or bounced than its own previous read of that domain, and the
// final counts are exact. Before ReadFence a reader saw 946 and then 930.
import { startServer } from '../app/main';
import { RunningServer } from '../app/server';
import { closeAgent, request } from './support/http';
import { createTestDatabase, dropTestDatabase, storedCounts } from './support/postgres';

const DOMAINS = ['hot-1.monotonic-test.com', 'hot-2.monotonic-test.com', 'hot-3.monotonic-test.com'];
const WRITERS = 48;
const EVENTS = 9000;
const GET_READERS = 6;
const LOOKUP_READERS = 2;

let databaseUrl: string;
let node: RunningServer;

beforeAll(async () => {
  databaseUrl = await createTestDatabase('pg_monotonic_test');
  node = await startServer({
    STORE: 'postgres',
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: '8',
    ACK_MODE: 'durable',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    OTEL_SDK_DISABLED: 'true',
  });
}, 60_000);

afterAll(async () => {
  await node?.close();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
  closeAgent();
});

interface Counts {
  delivered: number;
  bounced: number;
}

/** One reader's view: its last answer per domain, and every step down it saw. */
class Reader {
  readonly last = new Map<string, Counts>();
  readonly downs: string[] = [];
  reads = 0;

  see(domain: string, c: Counts): void {
    this.reads++;
    const prev = this.last.get(domain);
    if (prev && (c.delivered < prev.delivered || c.bounced < prev.bounced)) {
      this.downs.push(`${domain}: ${prev.delivered}/${prev.bounced} then ${c.delivered}/${c.bounced}`);
    }
    this.last.set(domain, c);
  }
}

it('never answers a reader less than it answered it before, and counts exactly', async () => {
  const sent = new Map(DOMAINS.map((d) => [d, { delivered: 0, bounced: 0 }]));
  const statuses = new Map<number, number>();
  let next = 0;
  let writing = true;
  const writer = async () => {
    while (next < EVENTS) {
      const i = next++;
      const domain = DOMAINS[i % DOMAINS.length];
      const type = i % 50 === 7 ? 'bounced' : 'delivered';
      const res = await request(node.url, 'PUT', `/events/${domain}/${type}`);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 204) sent.get(domain)![type]++;
    }
  };
  const readers: Reader[] = [];
  const getReader = async (k: number) => {
    const r = new Reader();
    readers.push(r);
    for (let i = k; writing; i++) {
      const domain = DOMAINS[i % DOMAINS.length];
      const res = await request(node.url, 'GET', `/domains/${domain}`);
      expect(res.status).toBe(200);
      r.see(domain, res.body as Counts);
    }
  };
  const lookupReader = async () => {
    const r = new Reader();
    readers.push(r);
    while (writing) {
      const res = await request(node.url, 'POST', '/domains/lookup', { domains: DOMAINS });
      expect(res.status).toBe(200);
      for (const c of res.body.results as Array<Counts & { domain: string }>) r.see(c.domain, c);
    }
  };
  const reading = Promise.all([
    ...Array.from({ length: GET_READERS }, (_, k) => getReader(k)),
    ...Array.from({ length: LOOKUP_READERS }, lookupReader),
  ]);
  await Promise.all(Array.from({ length: WRITERS }, writer));
  writing = false;
  await reading;

  const reads = readers.reduce((n, r) => n + r.reads, 0);
  const downs = readers.flatMap((r) => r.downs);
  console.log(`read-monotonic: ${EVENTS} PUTs ${JSON.stringify(Object.fromEntries(statuses))}, ${reads} reads, ${downs.length} went down`);
  expect(Object.fromEntries(statuses)).toEqual({ 204: EVENTS });
  expect(reads).toBeGreaterThan(300);
  expect(downs).toEqual([]);

  // Exact: what the node answers and what PostgreSQL holds is what was acknowledged.
  const stored = await storedCounts(databaseUrl, DOMAINS);
  for (const d of DOMAINS) {
    expect([d, stored.get(d)]).toEqual([d, sent.get(d)]);
    const res = await request(node.url, 'GET', `/domains/${d}`);
    expect(res.body).toMatchObject(sent.get(d)!);
  }
}, 120_000);
