// Idempotent batches through real HTTP (POST /events with Idempotency-Key):
// replay, 422 on reuse with another body, key syntax, concurrent duplicates
// on one node and on two nodes sharing one PostgreSQL database (exactly once),
// and a crash between the commit and the answer (kill -9, retry: replayed,
// counted once).
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer } from '../app/main';
import { RunningServer } from '../app/server';
import { closeAgent, request } from './support/http';
import { PgProxy } from './support/pg-proxy';
import { createTestDatabase, storedCounts } from './support/postgres';
import { TestRedis } from './support/redis';
import { ensureBuilt, startServiceProcess } from './support/service-child';

afterAll(() => closeAgent());

const events = (domain: string, n: number, type = 'delivered') => ({ events: Array.from({ length: n }, () => ({ domain, type })) });
const keyed = (key: string) => ({ 'content-type': 'application/json', 'idempotency-key': key });

describe('idempotent batches (memory store)', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({ STORE: 'memory', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
  });
  afterAll(() => server?.close());

  it('answers a retry with the first answer and Idempotent-Replayed, counting once', async () => {
    const first = await request(server.url, 'POST', '/events', events('replay.com', 3), keyed('order-1'));
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ accepted: 3 });
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await request(server.url, 'POST', '/events', events('REPLAY.com.', 3), keyed('order-1'));
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ accepted: 3 });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect((await request(server.url, 'GET', '/domains/replay.com')).body).toMatchObject({ delivered: 3, bounced: 0 });
  });

  it('takes the key as a Structured Field string too ("…")', async () => {
    expect((await request(server.url, 'POST', '/events', events('sf.com', 1), keyed('"sf-1"'))).status).toBe(200);
    const bare = await request(server.url, 'POST', '/events', events('sf.com', 1), keyed('sf-1'));
    expect(bare.headers['idempotent-replayed']).toBe('true');
    expect((await request(server.url, 'GET', '/domains/sf.com')).body).toMatchObject({ delivered: 1 });
  });

  it('answers 422 to the same key with another body (and to JSON turned NDJSON), counting nothing', async () => {
    await request(server.url, 'POST', '/events', events('reuse.com', 2), keyed('order-2'));
    const other = await request(server.url, 'POST', '/events', events('reuse.com', 2, 'bounced'), keyed('order-2'));
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity', message: expect.stringMatching(/different request/) });
    const ndjson = '{"domain":"reuse.com","type":"delivered"}\n'.repeat(2);
    const asNdjson = await request(server.url, 'POST', '/events', ndjson, {
      'content-type': 'application/x-ndjson',
      'idempotency-key': 'order-2',
    });
    expect(asNdjson.status).toBe(422);
    expect((await request(server.url, 'GET', '/domains/reuse.com')).body).toMatchObject({ delivered: 2, bounced: 0 });
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['non-ASCII', 'clé'],
    ['a bad escape in a quoted key', '"a\\b"'],
  ])('refuses a key that is %s with 400, counting nothing', async (_label, key) => {
    const res = await request(server.url, 'POST', '/events', events('badkey.com', 1), keyed(key));
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/^invalid Idempotency-Key: /);
    expect((await request(server.url, 'GET', '/domains/badkey.com')).body).toMatchObject({ delivered: 0 });
  });

  it('does not record the key of an invalid batch (400), so a corrected retry is applied', async () => {
    const bad = await request(server.url, 'POST', '/events', { events: [{ domain: 'not a domain', type: 'delivered' }] }, keyed('order-3'));
    expect(bad.status).toBe(400);
    const good = await request(server.url, 'POST', '/events', events('fixed.com', 1), keyed('order-3'));
    expect(good.status).toBe(200);
    expect(good.headers['idempotent-replayed']).toBeUndefined();
  });

  it('applies concurrent duplicates once (the later ones wait for the first and replay it)', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => request(server.url, 'POST', '/events', events('race.com', 5), keyed('order-4'))),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(answers.filter((a) => a.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
    expect((await request(server.url, 'GET', '/domains/race.com')).body).toMatchObject({ delivered: 5 });
  });

  it('counts keyed requests by outcome in /metrics', async () => {
    const text = (await request(server.url, 'GET', '/metrics')).text;
    const value = (outcome: string) =>
      Number(new RegExp(`^catchall_idempotent_batches_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    expect(value('applied')).toBeGreaterThanOrEqual(4);
    expect(value('replayed')).toBeGreaterThanOrEqual(21);
    expect(value('reused')).toBe(2);
  });

  it('leaves unkeyed batches as they were (each one counted)', async () => {
    for (let i = 0; i < 2; i++) expect((await request(server.url, 'POST', '/events', events('plain.com', 2))).status).toBe(200);
    expect((await request(server.url, 'GET', '/domains/plain.com')).body).toMatchObject({ delivered: 4 });
  });
});

describe('idempotent batches with CACHE=redis', () => {
  it('merges a keyed batch into the cache, so a cached domain does not answer from before it', async () => {
    const redis = await TestRedis.start();
    const server = await startServer({ STORE: 'memory', CACHE: 'redis', REDIS_URL: redis.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
    try {
      expect((await request(server.url, 'PUT', '/events/cached.com/delivered')).status).toBe(204);
      // Read until the cache holds the domain (the read-through fill is not awaited).
      const deadline = Date.now() + 5_000;
      let hits = 0;
      while (hits === 0 && Date.now() < deadline) {
        await request(server.url, 'GET', '/domains/cached.com');
        const m = /^catchall_cache_lookups_total\{result="hit"\} (\d+)/m.exec((await request(server.url, 'GET', '/metrics')).text);
        hits = Number(m?.[1] ?? 0);
        if (hits === 0) await sleep(20);
      }
      expect(hits).toBeGreaterThan(0);
      const res = await request(server.url, 'POST', '/events', events('cached.com', 1, 'bounced'), keyed('cached-1'));
      expect(res.status).toBe(200);
      const got = await request(server.url, 'GET', '/domains/cached.com');
      expect(got.body).toEqual({ domain: 'cached.com', status: 'not catch-all', delivered: 1, bounced: 1 });
    } finally {
      await server.close();
      await redis.stop();
    }
  });
});

describe('idempotent batches (PostgreSQL, two nodes)', () => {
  let databaseUrl: string;
  const servers: RunningServer[] = [];

  beforeAll(async () => {
    databaseUrl = await createTestDatabase('idempotency_http_test');
    const env = { STORE: 'postgres', DATABASE_URL: databaseUrl, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATABASE_POOL_SIZE: '4' };
    servers.push(await startServer(env));
    servers.push(await startServer(env));
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('applies a key sent to both nodes at once exactly once', async () => {
    for (let round = 0; round < 5; round++) {
      const key = `two-nodes-${round}`;
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => request(servers[i % 2].url, 'POST', '/events', events('both.com', 7), keyed(key))),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
      expect(answers.filter((a) => a.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
    }
    expect((await storedCounts(databaseUrl, ['both.com'])).get('both.com')).toEqual({ delivered: 35, bounced: 0 });
    // And each node reads it.
    for (const s of servers) expect((await request(s.url, 'GET', '/domains/both.com')).body).toMatchObject({ delivered: 35 });
  });
});

describe('idempotent batches: a crash between the commit and the answer', () => {
  let databaseUrl: string;
  let proxy: PgProxy;

  beforeAll(async () => {
    ensureBuilt();
    databaseUrl = await createTestDatabase('idempotency_crash_test');
    proxy = await PgProxy.start(Number(new URL(databaseUrl).port));
  }, 120_000);
  afterAll(() => proxy?.close());

  it('replays the batch after kill -9 and counts it once', async () => {
    const env = { STORE: 'postgres', DATABASE_URL: proxy.urlFor(databaseUrl), DATABASE_POOL_SIZE: '4', ACK_TIMEOUT_MS: '30000' };
    const first = await startServiceProcess(env);
    let second: Awaited<ReturnType<typeof startServiceProcess>> | undefined;
    try {
      const lost = proxy.loseNextCommit('catchall_idem_upsert', 'hold');
      const pending = request(first.url, 'POST', '/events', events('crash.com', 9), keyed('crash-1')).then(
        (r) => `answered ${r.status}`,
        () => 'no answer',
      );
      await lost; // committed in PostgreSQL; the service never hears of it
      expect(await storedCounts(databaseUrl, ['crash.com'])).toEqual(new Map([['crash.com', { delivered: 9, bounced: 0 }]]));
      first.child.kill('SIGKILL');
      expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
      expect(await pending).toBe('no answer');

      second = await startServiceProcess({ ...env, DATABASE_URL: databaseUrl });
      const retry = await request(second.url, 'POST', '/events', events('crash.com', 9), keyed('crash-1'));
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual({ accepted: 9 });
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect((await storedCounts(databaseUrl, ['crash.com'])).get('crash.com')).toEqual({ delivered: 9, bounced: 0 });
      console.log(`[idempotency kill -9 after commit] sent 9 events once, acknowledged 0, retried with the key: replayed, stored 9`);
    } finally {
      first.child.kill('SIGKILL');
      if (second) {
        second.child.kill('SIGTERM');
        await second.exited;
      }
      await sleep(10);
    }
  });
});
