// GET /domains and GET /domains/export through the real service on PostgreSQL:
// keyset pages hold every matching domain exactly once while events keep
// coming in (concurrent PUTs during the walk), the export streams the same
// domains as NDJSON, bad queries are 400 JSON, and both need a read key.
import { startServer } from '../app/main';
import { RunningServer } from '../app/server';
import { closeAgent, request } from './support/http';
import { createTestDatabase, dropTestDatabase } from './support/postgres';

const WRITE = 'w-secret-listing-0123456789';
const READ = 'r-secret-listing-0123456789';
const auth = (secret: string) => ({ authorization: `Bearer ${secret}` });
// A threshold of 2 makes catch-all domains cheap to seed: 3 deliveries.
const THRESHOLD = 2;
const PER_STATUS = 400;

let databaseUrl: string;
let server: RunningServer;
const seeded: Record<'catch-all' | 'not catch-all' | 'unknown', string[]> = { 'catch-all': [], 'not catch-all': [], unknown: [] };

const get = (path: string, key = READ) => request(server.url, 'GET', path, undefined, auth(key));

beforeAll(async () => {
  databaseUrl = await createTestDatabase('domain_listing_test');
  server = await startServer({
    STORE: 'postgres',
    DATABASE_URL: databaseUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    OTEL_SDK_DISABLED: 'true',
    CATCHALL_THRESHOLD: String(THRESHOLD),
    API_KEYS: `ingest:write:${WRITE},dash:read:${READ}`,
  });
  const events: Array<{ domain: string; type: string }> = [];
  for (let i = 0; i < PER_STATUS; i++) {
    const n = String(i).padStart(4, '0');
    // Interleaved names, so that every page mixes statuses.
    seeded['catch-all'].push(`${n}-c.example`);
    seeded['not catch-all'].push(`${n}-n.example`);
    seeded.unknown.push(`${n}-u.example`);
    for (let k = 0; k < THRESHOLD + 1; k++) events.push({ domain: `${n}-c.example`, type: 'delivered' });
    events.push({ domain: `${n}-n.example`, type: 'bounced' });
    events.push({ domain: `${n}-u.example`, type: 'delivered' });
  }
  for (let i = 0; i < events.length; i += 1000) {
    const answer = await request(server.url, 'POST', '/events', { events: events.slice(i, i + 1000) }, auth(WRITE));
    expect(answer.status).toBe(200);
  }
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
  closeAgent();
});

/** Walks every page; returns the names in the order they came and the number of pages. */
async function walk(query: string, limit: number): Promise<{ names: string[]; statuses: string[]; pages: number }> {
  const names: string[] = [];
  const statuses: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const answer = await get(`/domains?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(answer.status).toBe(200);
    const body = answer.body as { domains: Array<{ domain: string; status: string }>; next: string | null };
    expect(body.domains.length).toBeLessThanOrEqual(limit);
    if (body.next !== null) expect(body.domains.length).toBe(limit);
    for (const d of body.domains) {
      names.push(d.domain);
      statuses.push(d.status);
    }
    cursor = body.next;
    pages++;
  } while (cursor !== null);
  return { names, statuses, pages };
}

const sorted = (names: string[]) => [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('GET /domains while events keep coming in', () => {
  it('returns every matching domain exactly once, in name order, for each status and for all', async () => {
    let ingesting = true;
    let written = 0;
    // Writers: more deliveries to catch-all domains (they stay catch-all), bounces to
    // not catch-all ones (they stay so), and new domains among the seeded names.
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; ingesting; i++) {
        const n = String((i * 7 + w * 101) % PER_STATUS).padStart(4, '0');
        const path = [`/events/${n}-c.example/delivered`, `/events/${n}-n.example/bounced`, `/events/${n}-new${w}-${i}.example/delivered`][i % 3];
        const answer = await request(server.url, 'PUT', path, undefined, auth(WRITE));
        expect(answer.status).toBe(204);
        written++;
      }
    });
    try {
      for (const status of ['catch-all', 'not catch-all'] as const) {
        const { names, statuses, pages } = await walk(`status=${encodeURIComponent(status)}`, 37);
        expect(new Set(names).size).toBe(names.length);
        expect(names).toEqual(sorted(names));
        expect(names).toEqual(seeded[status]);
        expect(new Set(statuses)).toEqual(new Set([status]));
        expect(pages).toBe(Math.ceil((PER_STATUS + 1) / 37));
      }
      const unknown = await walk('status=unknown', 50);
      expect(new Set(unknown.names).size).toBe(unknown.names.length);
      expect(unknown.names).toEqual(sorted(unknown.names));
      // Seeded unknown domains are all there; new domains (unknown) may or may not be, depending on when they came.
      expect(unknown.names.filter((n) => n.endsWith('-u.example'))).toEqual(seeded.unknown);
      expect(unknown.names.filter((n) => !n.endsWith('-u.example') && !n.includes('-new'))).toEqual([]);

      const all = await walk('', 1000);
      expect(new Set(all.names).size).toBe(all.names.length);
      expect(all.names).toEqual(sorted(all.names));
      const seededAll = sorted([...seeded['catch-all'], ...seeded['not catch-all'], ...seeded.unknown]);
      expect(all.names.filter((n) => !n.includes('-new'))).toEqual(seededAll);
    } finally {
      ingesting = false;
      await Promise.all(writers);
    }
    expect(written).toBeGreaterThan(0);
  }, 120_000);

  it('answers the lookup object, and null next on the last page', async () => {
    const answer = await get(`/domains?status=catch-all&limit=1000`);
    expect(answer.body.next).toBeNull();
    expect(answer.body.domains[0]).toEqual({ domain: '0000-c.example', status: 'catch-all', delivered: expect.any(Number), bounced: 0 });
    expect(answer.body.domains[0].delivered).toBeGreaterThan(THRESHOLD);
    const first = await get('/domains?limit=1');
    expect(first.body).toEqual({ domains: [expect.objectContaining({ domain: '0000-c.example' })], next: expect.any(String) });
    const second = await get(`/domains?limit=1&cursor=${first.body.next}`);
    expect(second.body.domains[0].domain).toBe('0000-n.example');
  });
});

describe('GET /domains/export', () => {
  it('streams every domain of a status as NDJSON, the same ones as the pages', async () => {
    for (const status of ['catch-all', 'not catch-all', 'unknown'] as const) {
      const answer = await get(`/domains/export?status=${encodeURIComponent(status)}`);
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toMatch(/^application\/x-ndjson/);
      const lines = answer.text.split('\n');
      expect(lines.pop()).toBe('');
      const rows = lines.map((l) => JSON.parse(l) as { domain: string; status: string });
      expect(rows.map((r) => r.domain)).toEqual((await walk(`status=${encodeURIComponent(status)}`, 1000)).names);
      expect(new Set(rows.map((r) => r.status))).toEqual(new Set([status]));
    }
    const all = await get('/domains/export');
    expect(all.text.split('\n').length - 1).toBe((await walk('', 1000)).names.length);
  });

  it('answers an empty body when nothing matches', async () => {
    const other = await createTestDatabase('domain_listing_empty_test');
    const empty = await startServer({ STORE: 'postgres', DATABASE_URL: other, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'error', OTEL_SDK_DISABLED: 'true' });
    try {
      const answer = await request(empty.url, 'GET', '/domains/export?status=catch-all');
      expect([answer.status, answer.text]).toEqual([200, '']);
      expect((await request(empty.url, 'GET', '/domains')).body).toEqual({ domains: [], next: null });
    } finally {
      await empty.close();
      await dropTestDatabase(other);
    }
  });
});

describe('bad queries', () => {
  it.each([
    ['/domains?status=catchall', /status must be one of "catch-all", "not catch-all", "unknown"/],
    ['/domains?status=', /status must be one of/],
    ['/domains?status=unknown&status=catch-all', /status must be one of/],
    ['/domains?limit=0', /limit must be an integer from 1 to 1000/],
    ['/domains?limit=1001', /limit must be an integer from 1 to 1000/],
    ['/domains?limit=ten', /limit must be an integer from 1 to 1000/],
    ['/domains?limit=-5', /limit must be an integer from 1 to 1000/],
    ['/domains?cursor=', /cursor must be the "next" of a GET \/domains answer/],
    ['/domains?cursor=not-a-cursor', /cursor must be the "next"/],
    [`/domains?cursor=${Buffer.from('n:Not_A.Domain').toString('base64url')}`, /cursor must be the "next"/],
    [`/domains?cursor=${Buffer.from('x:a.com').toString('base64url')}`, /cursor must be the "next"/],
    [`/domains?cursor=${'A'.repeat(5000)}`, /cursor must be the "next"/],
    ['/domains?sort=name', /unknown query parameter "sort"/],
    ['/domains/export?status=maybe', /status must be one of/],
    ['/domains/export?limit=10', /unknown query parameter "limit"/],
  ])('GET %s is 400 JSON', async (path, message) => {
    const answer = await get(path);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(message) });
  });

  it('takes a status spelt with + or %20 for the space', async () => {
    expect((await get('/domains?status=not+catch-all&limit=1')).body.domains[0].status).toBe('not catch-all');
    expect((await get('/domains?status=not%20catch-all&limit=1')).body.domains[0].status).toBe('not catch-all');
  });
});

describe('access', () => {
  it.each(['/domains', '/domains/export'])('%s needs a read (or write) key', async (path) => {
    expect((await request(server.url, 'GET', path)).status).toBe(401);
    expect((await request(server.url, 'GET', path, undefined, { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await get(path, READ)).status).toBe(200);
    expect((await get(path, WRITE)).status).toBe(200);
  });
});
