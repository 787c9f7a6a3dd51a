// Fault: Redis killed. The service with CACHE=redis while Redis dies under load and comes back (on a
// Redis Cluster: one of its three masters, so that a third of the slots are
// down), through real HTTP: no 5xx, every count right (each writer checks its own
// domains after every acknowledged event), readiness stays 200 with the cache
// reported degraded, and once Redis is back the cache serves hits again.
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer } from '../../app/main';
import { RunningServer } from '../../app/server';
import { closeAgent, request } from '../support/http';
import { TestRedis } from '../support/redis';
import { RedisBackend, REDIS_KINDS, startRedis } from '../support/redis-backends';

let redis: RedisBackend;
let server: RunningServer;

afterAll(() => closeAgent());

async function metric(name: string, labels: string): Promise<number> {
  const text = (await request(server.url, 'GET', '/metrics')).text;
  const prefix = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line ? Number(line.split(' ').pop()) : 0;
}

interface Load {
  stop(): Promise<void>;
  problems: string[];
  requests: number;
  slowestMs: number;
}

/** Writers that each own some domains, send events and read them back after every 204. */
function startLoad(workers: number, tag: string): Load {
  let running = true;
  const load: Load = { problems: [], requests: 0, slowestMs: 0, stop: async () => undefined };
  const timed = async <T>(p: Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const r = await p;
    load.slowestMs = Math.max(load.slowestMs, Date.now() - t0);
    load.requests++;
    return r;
  };
  const worker = async (w: number) => {
    const domains = [0, 1, 2].map((i) => `w${w}-${i}.${tag}.com`);
    const expected = domains.map(() => ({ delivered: 0, bounced: 0 }));
    let step = 0;
    while (running) {
      const i = step % domains.length;
      const type = step % 7 === 6 ? 'bounced' : 'delivered';
      step++;
      const put = await timed(request(server.url, 'PUT', `/events/${domains[i]}/${type}`));
      if (put.status !== 204) {
        load.problems.push(`PUT ${domains[i]} answered ${put.status}: ${put.text}`);
        continue;
      }
      expected[i][type]++;
      const got = await timed(request(server.url, 'GET', `/domains/${domains[i]}`));
      const want = { delivered: expected[i].delivered, bounced: expected[i].bounced };
      if (got.status !== 200 || got.body.delivered !== want.delivered || got.body.bounced !== want.bounced) {
        load.problems.push(`GET ${domains[i]}: ${got.status} ${got.text}, expected ${JSON.stringify(want)}`);
      }
      if (step % 5 === 0) {
        const bulk = await timed(request(server.url, 'POST', '/domains/lookup', { domains }));
        if (bulk.status !== 200) {
          load.problems.push(`POST /domains/lookup answered ${bulk.status}`);
        } else {
          // Counts only grow, and never fall behind what this writer had acknowledged.
          bulk.body.results.forEach((r: { delivered: number; bounced: number }, k: number) => {
            if (r.delivered < expected[k].delivered || r.bounced < expected[k].bounced) {
              load.problems.push(`lookup ${domains[k]} behind: ${JSON.stringify(r)} < ${JSON.stringify(expected[k])}`);
            }
          });
        }
      }
    }
  };
  const all = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  load.stop = async () => {
    running = false;
    await all;
  };
  return load;
}

describe.each(REDIS_KINDS)('CACHE=redis when Redis fails (%s Redis)', (kind) => {
  beforeAll(async () => {
    redis = await startRedis(kind);
    server = await startServer({
      STORE: 'memory',
      CACHE: 'redis',
      ...redis.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      CACHE_TIMEOUT_MS: '50',
    });
  });

  afterAll(async () => {
    await server?.close();
    await redis?.stop();
  });

  it('keeps ingest and lookups right while Redis is down, and uses the cache again after', async () => {
    const load = startLoad(16, 'outage');
    try {
      await sleep(700);
      expect(await metric('catchall_cache_lookups_total', 'result="hit"')).toBeGreaterThan(0);
      expect(await metric('catchall_cache_call_duration_seconds_count', 'op="read",result="ok"')).toBeGreaterThan(0);

      // Redis dies under load.
      await redis.killOne();
      const requestsBefore = load.requests;
      await sleep(1500);
      // Requests go on being answered with Redis down (how fast is the cache bench's business).
      expect(load.requests - requestsBefore).toBeGreaterThan(0);
      const duringOutage = load.requests - requestsBefore;
      expect(await metric('catchall_cache_breaker_state', '')).toBeGreaterThanOrEqual(1); // open (or probing)
      // Which call fails first (a lookup or a flush's merge) depends on timing;
      // after a failed merge the node reads only from the store.
      const errors = (await metric('catchall_cache_errors_total', 'op="read"')) + (await metric('catchall_cache_errors_total', 'op="merge"'));
      expect(errors).toBeGreaterThan(0);
      const timedCalls =
        (await metric('catchall_cache_call_duration_seconds_count', 'op="read",result="error"')) +
        (await metric('catchall_cache_call_duration_seconds_count', 'op="merge",result="error"'));
      expect(timedCalls).toBeGreaterThanOrEqual(errors); // read later: more may have failed since
      expect(await metric('catchall_cache_lookups_total', 'result="bypass"')).toBeGreaterThan(0);
      const ready = await request(server.url, 'GET', '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.details.cache).toMatchObject({
        status: 'up',
        reachable: false,
        degraded: true,
        breaker: expect.stringMatching(/open/),
      });
      expect(ready.body.details.store).toMatchObject({ status: 'up' });

      // It comes back (empty): the breaker closes and lookups hit the cache again.
      await redis.restartOne();
      const deadline = Date.now() + 10_000;
      let hits = await metric('catchall_cache_lookups_total', 'result="hit"');
      while ((await metric('catchall_cache_breaker_state', '')) !== 0 && Date.now() < deadline) await sleep(50);
      expect(await metric('catchall_cache_breaker_state', '')).toBe(0);
      hits = await metric('catchall_cache_lookups_total', 'result="hit"');
      const hitsBy = Date.now() + 10_000;
      while ((await metric('catchall_cache_lookups_total', 'result="hit"')) <= hits + 100 && Date.now() < hitsBy) await sleep(100);
      expect(await metric('catchall_cache_lookups_total', 'result="hit"')).toBeGreaterThan(hits + 100);
      const back = await request(server.url, 'GET', '/health/ready');
      expect(back.status).toBe(200);
      expect(back.body.details.cache).toMatchObject({ status: 'up', reachable: true, degraded: false, breaker: 'closed' });
      console.log(
        `[fault ${kind} Redis killed] requests ${load.requests} (${duringOutage} in the first 1.5 s with Redis down), ` +
          `every acknowledged count read back exactly (problems ${load.problems.length}), slowest request ${load.slowestMs} ms`,
      );
    } finally {
      await load.stop();
    }
    expect(load.problems.slice(0, 10)).toEqual([]);
  });
});

describe('CACHE=redis when Redis fails', () => {
  it('starts while Redis is down, serves from the store, and takes Redis on once it is up', async () => {
    const late = await TestRedis.start();
    await late.kill();
    const started = Date.now();
    const node = await startServer({
      STORE: 'memory',
      CACHE: 'redis',
      REDIS_URL: late.url,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      CACHE_TIMEOUT_MS: '50',
    });
    try {
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await request(node.url, 'PUT', '/events/late.com/delivered')).status).toBe(204);
      expect((await request(node.url, 'GET', '/domains/late.com')).body).toMatchObject({ delivered: 1 });
      const ready = await request(node.url, 'GET', '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.details.cache).toMatchObject({ reachable: false, degraded: true });

      await late.restart();
      const deadline = Date.now() + 10_000;
      let hit = false;
      while (!hit && Date.now() < deadline) {
        expect((await request(node.url, 'GET', '/domains/late.com')).body).toMatchObject({ delivered: 1 });
        const text = (await request(node.url, 'GET', '/metrics')).text;
        hit = /^catchall_cache_lookups_total\{result="hit"\} [1-9]/m.test(text);
        await sleep(50);
      }
      expect(hit).toBe(true);
    } finally {
      await node.close();
      await late.stop();
    }
  });
});
