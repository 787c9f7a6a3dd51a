// Fault: kill -9 of the service under load (durable acks). Whatever the
// process had acknowledged is in PostgreSQL; nothing is counted twice:
// per domain, acknowledged ≤ stored ≤ sent. Prints its figures.
import { setTimeout as sleep } from 'node:timers/promises';
import { closeAgent } from '../support/http';
import { createTestDatabase, storedCounts } from '../support/postgres';
import { ensureBuilt, startServiceProcess } from '../support/service-child';
import { figures, startLoad, total, untilAcked, violations } from './support/load';

let databaseUrl: string;

beforeAll(async () => {
  ensureBuilt();
  databaseUrl = await createTestDatabase('fault_kill9_test');
}, 120_000);
afterAll(() => closeAgent());

it('loses no acknowledged event and doubles none when the service is killed with SIGKILL under load', async () => {
  const service = await startServiceProcess({ STORE: 'postgres', DATABASE_URL: databaseUrl, ACK_MODE: 'durable' });
  const domains = Array.from({ length: 50 }, (_, i) => `k${i}.kill9-test.com`);
  const load = startLoad({ url: service.url, domains, workers: 32 });
  try {
    await untilAcked(load.tally, 200);
    service.child.kill('SIGKILL');
    expect(await service.exited).toMatchObject({ signal: 'SIGKILL' });
    await sleep(200); // requests sent after the kill are refused at once
  } finally {
    await load.stop();
    service.child.kill('SIGKILL');
  }
  const stored = await storedCounts(databaseUrl, domains);
  figures('kill-9', load.tally, stored);
  expect(load.tally.unexpected).toEqual([]);
  expect(total(load.tally.acked)).toBeGreaterThanOrEqual(200);
  expect(total(load.tally.unanswered)).toBeGreaterThan(0); // the kill was felt
  expect(violations(load.tally, stored)).toEqual([]);
});
