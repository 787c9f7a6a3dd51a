// Fault: the database stopped and restarted. Durability against a real database of this file's own (so stopping it
// disturbs no other suite), plain PostgreSQL and a 3-node Citus cluster: counts
// survive restarts of the service and of the database, and when the database
// stops in the middle of the load, nothing acknowledged is lost or counted
// twice, and nothing unstored is acknowledged. On Citus "the database stops" is
// the coordinator and both workers crashing (immediate stop) at once; a flush
// in flight then is a distributed transaction that the coordinator's recovery
// commits or rolls back whole (with its fence row), see the postgres adapter.
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer } from '../../app/main';
import { RunningServer } from '../../app/server';
import type { StopMode } from '../../foundation/postgres/local-postgres';
import { startTestCitus } from '../support/citus';
import { closeAgent, request } from '../support/http';
import { createTestDatabase, startTestPostgres, storedCounts } from '../support/postgres';

/** A database server (or cluster) this file owns, with one database in it. */
interface OwnDatabase {
  databaseUrl: string;
  stop(mode: StopMode): Promise<void>;
  restart(): Promise<void>;
  destroy(): Promise<void>;
  /** Citus: one worker. */
  stopWorker?(index: number, mode: StopMode): Promise<void>;
  restartWorker?(index: number): Promise<void>;
}

/** What fails in the middle of the load, and whether readiness must report it. */
interface Outage {
  what: string;
  crash(db: OwnDatabase): Promise<void>;
  recover(db: OwnDatabase): Promise<void>;
  /**
   * /health/ready pings the database the service connects to: the server, or
   * Citus's coordinator. A lost worker shows as failing flushes (503 on durable
   * writes) and readiness turns 503 only once the backlog passes its bound.
   */
  notReady: boolean;
}

const wholeDatabase: Outage = {
  what: 'the database',
  crash: (db) => db.stop('immediate'),
  recover: (db) => db.restart(),
  notReady: true,
};

const ENGINES: Array<[string, () => Promise<OwnDatabase>, Outage[]]> = [
  [
    'PostgreSQL',
    async () => {
      const pg = await startTestPostgres({ synchronousCommit: true });
      return { databaseUrl: await createTestDatabase('durability_test', pg.url), ...bind(pg) };
    },
    [wholeDatabase],
  ],
  [
    'Citus',
    async () => {
      const citus = await startTestCitus();
      return {
        databaseUrl: await citus.createDatabase('durability_citus_test'),
        ...bind(citus),
        stopWorker: (i, m) => citus.stopWorker(i, m),
        restartWorker: (i) => citus.restartWorker(i),
      };
    },
    [
      { ...wholeDatabase, what: 'every Citus node (coordinator and workers)' },
      {
        what: 'one Citus worker',
        crash: (db) => db.stopWorker!(0, 'immediate'),
        recover: (db) => db.restartWorker!(0),
        notReady: false,
      },
    ],
  ],
];

function bind(server: Omit<OwnDatabase, 'databaseUrl'>): Omit<OwnDatabase, 'databaseUrl'> {
  return { stop: (m) => server.stop(m), restart: () => server.restart(), destroy: () => server.destroy() };
}

afterAll(() => closeAgent());

describe.each(ENGINES)('durability on %s', (engine, startDatabase, outages) => {
  let pg: OwnDatabase;
  let databaseUrl: string;
  let server: RunningServer | undefined;

  function env(): Record<string, string> {
    return {
      STORE: 'postgres',
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: '4',
      ACK_TIMEOUT_MS: '1000',
      SHUTDOWN_TIMEOUT_MS: '10000',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
    };
  }

  beforeAll(async () => {
    pg = await startDatabase();
    databaseUrl = pg.databaseUrl;
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await pg?.destroy();
  });

  it('keeps counts across restarts of the service and of the database', async () => {
    server = await startServer(env());
    for (let i = 0; i < 30; i++) {
      const res = await request(server.url, 'PUT', `/events/restart.durability-test.com/${i % 10 === 0 ? 'bounced' : 'delivered'}`);
      expect(res.status).toBe(204);
    }
    await server.close();
    server = await startServer(env());
    let res = await request(server.url, 'GET', '/domains/restart.durability-test.com');
    expect(res.body).toMatchObject({ delivered: 27, bounced: 3 });

    // The database restarts under a running service: the pool reconnects.
    await pg.stop('fast');
    await pg.restart();
    res = await request(server.url, 'PUT', '/events/restart.durability-test.com/delivered');
    expect(res.status).toBe(204);
    res = await request(server.url, 'GET', '/domains/restart.durability-test.com');
    expect(res.body).toMatchObject({ delivered: 28, bounced: 3 });
    await server.close();
    server = undefined;
  });

  it.each(outages.map((o, i): [string, Outage, number] => [o.what, o, i]))(
    'never loses or doubles an acknowledged event when %s stops mid-load',
    async (_what, outage, nth) => {
      server = await startServer(env());
      const url = server.url;
      const domains = Array.from({ length: 100 }, (_, i) => `load-${i}.outage-${nth}.durability-test.com`);
      const sent = new Map<string, number>();
      const acked = new Map<string, number>();
      const refused = new Map<string, number>();
      const unexpected: string[] = [];
      const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

      // Domains that only see events while the database is up, one at a time:
      // every one acknowledged, so their counts must be exact.
      const steady = Array.from({ length: 5 }, (_, i) => `steady-${i}.outage-${nth}.durability-test.com`);
      for (const d of steady) {
        for (let i = 0; i < 20; i++) {
          bump(sent, d);
          const res = await request(url, 'PUT', `/events/${d}/delivered`);
          if (res.status === 204) bump(acked, d);
          else unexpected.push(`${res.status} before the stop`);
        }
      }

      let stop = false;
      let n = 0;
      const worker = async () => {
        while (!stop) {
          const d = domains[n++ % domains.length];
          bump(sent, d);
          try {
            const res = await request(url, 'PUT', `/events/${d}/delivered`);
            if (res.status === 204) bump(acked, d);
            else if (res.status === 503) bump(refused, d);
            else unexpected.push(`${res.status} ${res.text}`);
          } catch (err) {
            unexpected.push(String(err));
          }
        }
      };
      const load = Array.from({ length: 32 }, worker);

      await sleep(500);
      const ackedBeforeStop = sum(acked);
      await outage.crash(pg);
      await sleep(300);
      if (outage.notReady) expect((await request(url, 'GET', '/health/ready')).status).toBe(503);
      await sleep(1700);
      await outage.recover(pg);
      const restartedAt = sum(acked);
      await sleep(2500);
      stop = true;
      await Promise.all(load);
      const ackedAfterRestart = sum(acked) - restartedAt;

      // Shutdown stores whatever is still pending (the database is back).
      await server.close();
      server = undefined;

      expect(unexpected).toEqual([]);
      expect(ackedBeforeStop).toBeGreaterThan(0);
      expect(sum(refused)).toBeGreaterThan(0); // the outage was felt, as 503s
      expect(ackedAfterRestart).toBeGreaterThan(0); // and the service recovered

      const final = await storedCounts(databaseUrl, [...sent.keys()]);
      const violations: string[] = [];
      for (const [d, s] of sent) {
        const a = acked.get(d) ?? 0;
        const f = final.get(d)?.delivered ?? 0;
        if (f < a || f > s) violations.push(`${d}: acked ${a} <= final ${f} <= sent ${s} does not hold`);
        if (!refused.has(d) && f !== a) violations.push(`${d}: every event acknowledged (${a}) but ${f} stored`);
      }
      let stored = 0;
      for (const d of sent.keys()) stored += final.get(d)?.delivered ?? 0;
      console.log(
        `[fault ${engine}: ${outage.what} stopped] domains ${sent.size}: sent ${sum(sent)}, acknowledged ${sum(acked)}, ` +
          `refused 503 ${sum(refused)}, stored ${stored}; ` +
          `acked before stop ${ackedBeforeStop}, after restart ${ackedAfterRestart}, violations ${violations.length}`,
      );
      expect(violations).toEqual([]);
      for (const d of steady) expect(final.get(d)).toEqual({ delivered: 20, bounced: 0 });
    },
  );
});

function sum(m: Map<string, number>): number {
  let total = 0;
  for (const v of m.values()) total += v;
  return total;
}
