// Fault: the domains table locked for 20 s (LOCK TABLE … ACCESS EXCLUSIVE in
// another session, as a careless migration would). Flushes cannot commit, so:
// the backlog stays within MAX_PENDING_EVENTS, new events get 503 with
// Retry-After, no event is answered 2xx while it cannot be stored, the
// process's memory stays flat, and once the lock goes everything acknowledged
// is stored. Prints its figures.
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { closeAgent, request } from '../support/http';
import { createTestDatabase, storedCounts } from '../support/postgres';
import { ensureBuilt, startServiceProcess } from '../support/service-child';
import { figures, startLoad, total, violations } from './support/load';

const LOCK_MS = 20_000;
const MAX_PENDING_EVENTS = 200;
/** Largest RSS growth allowed while the lock is held (the process idles at ~100 MB). */
const RSS_BOUND_BYTES = 40 * 1024 * 1024;
/** A flush that committed just before the lock was granted may still be answering. */
const GRACE_MS = 300;

let databaseUrl: string;

beforeAll(async () => {
  ensureBuilt();
  databaseUrl = await createTestDatabase('fault_table_lock_test');
}, 120_000);
afterAll(() => closeAgent());

it('stays bounded and honest while the domains table is locked for 20 s', async () => {
  const service = await startServiceProcess({
    STORE: 'postgres',
    DATABASE_URL: databaseUrl,
    MAX_PENDING_EVENTS: String(MAX_PENDING_EVENTS),
    ACK_TIMEOUT_MS: '2000',
  });
  const domains = Array.from({ length: 50 }, (_, i) => `l${i}.lock-test.com`);
  const load = startLoad({ url: service.url, domains, workers: 32 });
  const locker = new Client({ connectionString: databaseUrl });
  await locker.connect();
  let rssBefore: number;
  let rssMax = 0;
  let backlogMax = 0;
  let lockedAt = 0;
  let releasedAt = 0;
  let notReady = 0;
  try {
    await sleep(1_500);
    rssBefore = service.rss();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE domains IN ACCESS EXCLUSIVE MODE');
    lockedAt = Date.now();
    while (Date.now() - lockedAt < LOCK_MS) {
      await sleep(1_000);
      rssMax = Math.max(rssMax, service.rss());
      const ready = await request(service.url, 'GET', '/health/ready');
      if (ready.status === 503) notReady++;
      backlogMax = Math.max(backlogMax, Number(ready.body?.details?.ingest?.backlog ?? 0));
    }
    await locker.query('COMMIT');
    releasedAt = Date.now();
    await sleep(1_500); // recovers
  } finally {
    await load.stop();
    await locker.end().catch(() => undefined);
    service.child.kill('SIGTERM');
    await service.exited;
  }
  const stored = await storedCounts(databaseUrl, domains);
  const ackedWhileLocked = load.tally.ackTimes.filter((t) => t >= lockedAt + GRACE_MS && t < releasedAt).length;
  const ackedAfter = load.tally.ackTimes.filter((t) => t >= releasedAt).length;
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  figures(
    'table-lock 20s',
    load.tally,
    stored,
    `2xx while locked ${ackedWhileLocked}, 2xx after release ${ackedAfter}, backlog max ${backlogMax} ` +
      `(bound ${MAX_PENDING_EVENTS}), readiness 503 in ${notReady} of ${Math.round(LOCK_MS / 1000)} probes, ` +
      `RSS ${mb(rssBefore)} MB before, max ${mb(rssMax)} MB while locked (bound +${mb(RSS_BOUND_BYTES)} MB)`,
  );
  expect(load.tally.unexpected).toEqual([]);
  expect(ackedWhileLocked).toBe(0);
  expect(total(load.tally.refused)).toBeGreaterThan(0);
  expect(backlogMax).toBeLessThanOrEqual(MAX_PENDING_EVENTS);
  expect(notReady).toBeGreaterThan(0);
  expect(ackedAfter).toBeGreaterThan(0);
  expect(rssMax - rssBefore).toBeLessThan(RSS_BOUND_BYTES);
  expect(violations(load.tally, stored)).toEqual([]);
}, 90_000);
