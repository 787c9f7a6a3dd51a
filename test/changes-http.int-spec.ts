// GET /changes end to end: two service instances on one PostgreSQL record each
// transition exactly once while both drive every domain across the threshold;
// the feed pages in order; a long-poll on one node returns with a change that
// another node commits, before its deadline; bad input is a 400; a client that
// hangs up frees its waiting slot; memory mode says its feed is not durable.
import http from 'node:http';
import { startServer } from '../app/main';
import { RunningServer } from '../app/server';
import { closeAgent, request } from './support/http';
import { createTestDatabase, dropTestDatabase } from './support/postgres';
import type { ChangeView } from '../app/handlers/change-view';

let databaseUrl: string;
const nodes: RunningServer[] = [];
const THRESHOLD = 5;

function env(): Record<string, string> {
  return {
    STORE: 'postgres',
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: '4',
    CATCHALL_THRESHOLD: String(THRESHOLD),
    CHANGES_MAX_WAITERS: '2',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    OTEL_SDK_DISABLED: 'true',
  };
}

beforeAll(async () => {
  databaseUrl = await createTestDatabase('changes_http_test');
  nodes.push(await startServer(env()));
  nodes.push(await startServer(env()));
});

afterAll(async () => {
  for (const node of nodes) await node.close();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
  closeAgent();
});


const changes = (node: number, query = '') => request(nodes[node].url, 'GET', `/changes${query}`);

async function readAll(node: number, after?: string): Promise<{ changes: ChangeView[]; next: string }> {
  const all: ChangeView[] = [];
  let cursor = after;
  for (;;) {
    const page = await changes(node, `?limit=7${cursor ? `&after=${cursor}` : ''}`);
    expect(page.status).toBe(200);
    all.push(...page.body.changes);
    if (page.body.changes.length === 0) return { changes: all, next: page.body.next };
    cursor = page.body.next;
  }
}

describe('GET /changes', () => {
  it('records each transition exactly once while two instances drive every domain across, in commit order per domain', async () => {
    const domains = Array.from({ length: 40 }, (_, i) => `feed${i}.changes.com`);
    const batch = (type: string) => ({ events: domains.map((domain) => ({ domain, type })) });
    // Each node posts 4 batches of one delivered per domain, 4 at a time: 8 delivered per domain in all.
    await Promise.all(
      [0, 1].flatMap((node) =>
        Array.from({ length: 4 }, async () => {
          const answer = await request(nodes[node].url, 'POST', '/events', batch('delivered'));
          expect(answer.status).toBe(200);
        }),
      ),
    );
    await Promise.all([0, 1, 0, 1].map((node) => request(nodes[node].url, 'POST', '/events', batch('bounced'))));

    const { changes: feed } = await readAll(1);
    expect(feed).toHaveLength(domains.length * 2);
    expect(new Set(feed.map((c) => c.cursor)).size).toBe(feed.length);
    for (const domain of domains) {
      const own = feed.filter((c) => c.domain === domain);
      expect(own.map((c) => `${c.from}>${c.to}`)).toEqual(['unknown>catch-all', 'catch-all>not catch-all']);
      expect(own[0].bounced).toBe(0);
      expect(own[0].delivered).toBeGreaterThan(THRESHOLD);
      // Bounce batches sent at once may share a flush: one net transition, with their sum.
      expect(own[1].delivered).toBe(8);
      expect(own[1].bounced).toBeGreaterThanOrEqual(1);
      expect(Number.isNaN(Date.parse(own[0].at))).toBe(false);
    }
    // Both nodes read the same feed.
    expect((await readAll(0)).changes).toEqual(feed);
  });

  it('long-polls: a wait on one node returns with the change another node commits, before its deadline', async () => {
    for (const [waiter, writer] of [
      [1, 0],
      [0, 0],
    ]) {
      const { next } = await readAll(0);
      const domain = `poll${waiter}${writer}.changes.com`;
      const started = Date.now();
      const polling = changes(waiter, `?after=${next}&wait=30`);
      await new Promise((r) => setTimeout(r, 200));
      expect((await request(nodes[writer].url, 'PUT', `/events/${domain}/bounced`)).status).toBe(204);
      const answer = await polling;
      expect(answer.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(answer.body.changes.map((c: ChangeView) => c.domain)).toContain(domain);
    }
  });

  it('records transitions of an idempotent batch (Idempotency-Key) once, replay or not', async () => {
    const { next } = await readAll(0);
    const body = { events: [{ domain: 'keyed.changes.com', type: 'bounced' }] };
    const headers = { 'idempotency-key': 'changes-test-key-1' };
    expect((await request(nodes[0].url, 'POST', '/events', body, { ...headers })).status).toBe(200);
    const replay = await request(nodes[1].url, 'POST', '/events', body, { ...headers });
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    // Read on the node that applied the batch: its read waits for its own sequencing
    // (another node sees the change a moment later, after that node's sequencer commits).
    const { changes: after } = await readAll(0, next);
    expect(after.map((c) => [c.domain, c.from, c.to, c.bounced])).toEqual([['keyed.changes.com', 'unknown', 'not catch-all', 1]]);
  });

  it('answers empty with the same cursor at the deadline', async () => {
    const { next } = await readAll(0);
    const answer = await changes(0, `?after=${next}&wait=1`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ changes: [], next });
  });

  it.each([
    ['?after=not-a-cursor', /after must be a cursor/],
    ['?limit=0', /limit must be/],
    ['?limit=1001', /limit must be/],
    ['?wait=61', /wait must be/],
    ['?wait=abc', /wait must be/],
  ])('refuses %s with a 400 JSON error', async (query, message) => {
    const answer = await changes(0, query);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(answer.body.message).toMatch(message);
  });

  it('caps waiting long-polls (503) and frees a slot when its client hangs up', async () => {
    const { next } = await readAll(0);
    const url = new URL(`/changes?after=${next}&wait=60`, nodes[0].url);
    const hangers = [0, 1].map(() => {
      const req = http.get(url);
      req.on('error', () => undefined);
      return req;
    });
    await new Promise((r) => setTimeout(r, 500));
    const refused = await changes(0, `?after=${next}&wait=5`);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    for (const req of hangers) req.destroy();
    await new Promise((r) => setTimeout(r, 500));
    const accepted = await changes(0, `?after=${next}&wait=1`);
    expect(accepted.status).toBe(200);
  });
});

describe('GET /changes in memory mode', () => {
  it('records transitions and says in /health that the feed is in this process only', async () => {
    const node = await startServer({ ...env(), STORE: 'memory', DATABASE_URL: '' });
    try {
      expect((await request(node.url, 'PUT', '/events/mem.changes.com/bounced')).status).toBe(204);
      const answer = await request(node.url, 'GET', '/changes');
      expect(answer.body.changes).toMatchObject([{ domain: 'mem.changes.com', from: 'unknown', to: 'not catch-all' }]);
      const health = await request(node.url, 'GET', '/health');
      expect(health.body.details.changes).toMatchObject({ status: 'up', durable: false, kind: 'memory' });
    } finally {
      await node.close();
    }
  });
});

describe('GET /changes with API keys', () => {
  it('needs a read (or write) key', async () => {
    const READ = 'r-secret-0123456789abcdef';
    const node = await startServer({ ...env(), STORE: 'memory', DATABASE_URL: '', API_KEYS: `dash:read:${READ}` });
    try {
      expect((await request(node.url, 'GET', '/changes')).status).toBe(401);
      const answer = await request(node.url, 'GET', '/changes', undefined, { authorization: `Bearer ${READ}` });
      expect(answer.status).toBe(200);
      expect(answer.body.changes).toEqual([]);
    } finally {
      await node.close();
    }
  });
});
