// Two service instances sharing one PostgreSQL database and one Redis (and then
// one three-master Redis Cluster) stay consistent: an event acknowledged by either is read back exactly by both,
// statuses move forward on both, concurrent writers end on the exact totals, and
// a Redis stall (commands timing out, then landing late) leaves nothing stale.
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer } from '../app/main';
import { RunningServer } from '../app/server';
import { closeAgent, request } from './support/http';
import { createTestDatabase, dropTestDatabase } from './support/postgres';
import { RedisBackend, REDIS_KINDS, startRedis } from './support/redis-backends';

describe.each(REDIS_KINDS)('%s Redis', (kind) => {
let redis: RedisBackend;
let databaseUrl: string;
const nodes: RunningServer[] = [];

function env(): Record<string, string> {
  return {
    STORE: 'postgres',
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: '4',
    CACHE: 'redis',
    ...redis.env,
    CACHE_TIMEOUT_MS: '50',
    CATCHALL_THRESHOLD: '5',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
  };
}

beforeAll(async () => {
  redis = await startRedis(kind);
  databaseUrl = await createTestDatabase(`redis_two_nodes_${kind}_test`);
  // One at a time: the first one migrates the schema.
  nodes.push(await startServer(env()));
  nodes.push(await startServer(env()));
});

afterAll(async () => {
  for (const node of nodes.splice(0)) await node.close();
  await redis?.stop();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
});

const put = (node: number, domain: string, type: string) => request(nodes[node].url, 'PUT', `/events/${domain}/${type}`);
const get = (node: number, domain: string) => request(nodes[node].url, 'GET', `/domains/${domain}`);
describe('two instances, one store, one Redis', () => {
  it('an event acknowledged by one instance is read back exactly by both', async () => {
    const domain = 'shared.two-nodes.com';
    const want = { delivered: 0, bounced: 0 };
    const statuses: string[] = [];
    for (let i = 0; i < 16; i++) {
      const writer = i % 2;
      const type = i === 11 ? 'bounced' : 'delivered';
      expect((await put(writer, domain, type)).status).toBe(204);
      want[type]++;
      // The writer reads its own write at once.
      const own = await get(writer, domain);
      expect({ delivered: own.body.delivered, bounced: own.body.bounced }).toEqual(want);
      statuses.push(own.body.status);
      // The other one may lag by the cache merge (a millisecond or so), never more
      // than normal staleness, and never shows more than was written.
      const deadline = Date.now() + 100;
      for (;;) {
        const other = await get(1 - writer, domain);
        expect(other.status).toBe(200);
        expect(other.body.delivered).toBeLessThanOrEqual(want.delivered);
        expect(other.body.bounced).toBeLessThanOrEqual(want.bounced);
        if (other.body.delivered === want.delivered && other.body.bounced === want.bounced) {
          statuses.push(other.body.status);
          break;
        }
        expect(Date.now()).toBeLessThan(deadline);
        await sleep(2);
      }
    }
    // unknown → catch-all (more than 5 delivered, no bounce) → not catch-all, never back
    const firstCatchAll = statuses.indexOf('catch-all');
    const firstNot = statuses.indexOf('not catch-all');
    expect(firstCatchAll).toBeGreaterThan(0);
    expect(firstNot).toBeGreaterThan(firstCatchAll);
    expect(statuses.slice(firstNot).every((s) => s === 'not catch-all')).toBe(true);
    expect(statuses.slice(0, firstCatchAll).every((s) => s === 'unknown')).toBe(true);
  });

  it('concurrent writers on both instances end on the exact totals, in the store and in the cache', async () => {
    const domains = Array.from({ length: 5 }, (_, i) => `c${i}.two-nodes.com`);
    const want = new Map(domains.map((d) => [d, { delivered: 0, bounced: 0 }]));
    await Promise.all(
      Array.from({ length: 12 }, async (_, w) => {
        for (let i = 0; i < 40; i++) {
          const domain = domains[(w + i) % domains.length];
          const type = (w * 40 + i) % 13 === 0 ? 'bounced' : 'delivered';
          const answer = await put(w % 2, domain, type);
          expect(answer.status).toBe(204);
          want.get(domain)![type]++;
        }
      }),
    );
    for (const node of [0, 1]) {
      const answer = await request(nodes[node].url, 'POST', '/domains/lookup', { domains });
      expect(answer.status).toBe(200);
      for (const r of answer.body.results) expect({ domain: r.domain, delivered: r.delivered, bounced: r.bounced }).toEqual({ domain: r.domain, ...want.get(r.domain) });
    }
    // What the cache holds for them (current generation) is the store's totals,
    // once the last merges have landed.
    const cacheMatches = async () => {
      for (const domain of domains) {
        const generation = await redis.admin().get(redis.genKeyOf(domain));
        const entry = await redis.admin().get(redis.keyOf(domain));
        const w = want.get(domain)!;
        if (entry?.startsWith(`${generation}:`) && entry !== `${generation}:${w.delivered}:${w.bounced}`) return false;
      }
      return true;
    };
    const deadline = Date.now() + 1000;
    while (!(await cacheMatches()) && Date.now() < deadline) await sleep(20);
    expect(await cacheMatches()).toBe(true);
  });

  it('a Redis stall (timeouts, then late writes) leaves nothing stale on either instance', async () => {
    const domain = 'stall.two-nodes.com';
    const want = { delivered: 0, bounced: 0 };
    // Warm the cache on both instances.
    for (const node of [0, 1]) {
      expect((await put(node, domain, 'delivered')).status).toBe(204);
      want.delivered++;
      expect((await get(1 - node, domain)).body).toMatchObject(want);
    }
    // Redis stops answering for 400 ms: merges time out and land when it resumes.
    await redis.pauseAll(400);
    const started = Date.now();
    for (let i = 0; i < 6; i++) {
      const node = i % 2;
      expect((await put(node, domain, i === 3 ? 'bounced' : 'delivered')).status).toBe(204);
      want[i === 3 ? 'bounced' : 'delivered']++;
      expect((await get(node, domain)).body).toMatchObject(want);
    }
    expect(Date.now() - started).toBeLessThan(400 + 6 * 3 * 100);
    await sleep(500);
    // After the stall, and after the breakers have probed Redis back, both read the exact totals.
    for (let round = 0; round < 20; round++) {
      for (const node of [0, 1]) expect((await get(node, domain)).body).toMatchObject({ ...want, status: 'not catch-all' });
      await sleep(100);
    }
  });
});
});

afterAll(() => closeAgent());
