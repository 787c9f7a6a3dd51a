// Fault: a flush whose commit outcome is unknown. A TCP proxy between the
// service and PostgreSQL lets a flush commit and then swallows PostgreSQL's
// answer and cuts the connection, so the service cannot tell whether the
// flush was stored. The flush fence must resolve it exactly once: every event
// acknowledged, stored == sent. Prints its figures.
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer } from '../../app/main';
import { closeAgent, request } from '../support/http';
import { PgProxy } from '../support/pg-proxy';
import { createTestDatabase, storedCounts } from '../support/postgres';
import { figures, startLoad, total, violations } from './support/load';

let databaseUrl: string;
let proxy: PgProxy;

beforeAll(async () => {
  databaseUrl = await createTestDatabase('fault_commit_unknown_test');
  proxy = await PgProxy.start(Number(new URL(databaseUrl).port));
});
afterAll(async () => {
  closeAgent();
  await proxy?.close();
});

async function metric(url: string, line: RegExp): Promise<number> {
  const m = line.exec((await request(url, 'GET', '/metrics')).text);
  return m ? Number(m[1]) : 0;
}

it('stores a flush whose commit answer was lost exactly once (the fence resolves it)', async () => {
  const server = await startServer({
    STORE: 'postgres',
    DATABASE_URL: proxy.urlFor(databaseUrl),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    ACK_TIMEOUT_MS: '10000',
  });
  const domains = Array.from({ length: 20 }, (_, i) => `u${i}.unknown-test.com`);
  const load = startLoad({ url: server.url, domains, workers: 16 });
  try {
    await sleep(500);
    // The next flush commits in PostgreSQL; its answer never reaches the service.
    const lost = proxy.loseNextCommit('catchall_upsert', 'cut');
    await Promise.race([lost, sleep(10_000)]);
    await sleep(1_000);
  } finally {
    await load.stop();
  }
  const resolvedStored = await metric(server.url, /^catchall_store_flushes_in_doubt_total\{outcome="stored"\} (\d+)/m);
  await server.close();
  const stored = await storedCounts(databaseUrl, domains);
  figures('commit-answer-lost', load.tally, stored, `commits whose answer was lost ${proxy.lost}, resolved as stored ${resolvedStored}`);
  expect(proxy.lost).toBe(1);
  expect(resolvedStored).toBe(1);
  expect(load.tally.unexpected).toEqual([]);
  expect(total(load.tally.acked)).toBe(total(load.tally.sent)); // every event acknowledged in the end
  let storedTotal = 0;
  for (const c of stored.values()) storedTotal += c.delivered;
  expect(storedTotal).toBe(total(load.tally.sent)); // exactly once
  expect(violations(load.tally, stored)).toEqual([]);
});
