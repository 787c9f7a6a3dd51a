// Fault: SIGTERM under load. The service stops taking requests, stores what
// it had accepted, and exits 0: nothing acknowledged is lost, nothing counted
// twice, and where every event of a domain was acknowledged, stored ==
// acknowledged. Run in both ack modes (buffered acknowledges before storing,
// so its drain on shutdown is what keeps the promise). Prints its figures.
import { closeAgent } from '../support/http';
import { createTestDatabase, storedCounts } from '../support/postgres';
import { ensureBuilt, startServiceProcess } from '../support/service-child';
import { figures, startLoad, total, untilAcked, violations } from './support/load';

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => closeAgent());

it.each(['durable', 'buffered'])('drains on SIGTERM under load (ACK_MODE=%s)', async (ackMode) => {
  const databaseUrl = await createTestDatabase(`fault_sigterm_${ackMode}_test`);
  const service = await startServiceProcess({
    STORE: 'postgres',
    DATABASE_URL: databaseUrl,
    ACK_MODE: ackMode,
    FLUSH_INTERVAL_MS: ackMode === 'buffered' ? '1000' : '50',
    LOG_LEVEL: 'info',
  });
  const domains = Array.from({ length: 50 }, (_, i) => `t${i}.sigterm-test.com`);
  const load = startLoad({ url: service.url, domains, workers: 32 });
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  try {
    await untilAcked(load.tally, 200);
    service.child.kill('SIGTERM');
    exit = await service.exited;
  } finally {
    await load.stop();
    service.child.kill('SIGKILL');
  }
  const stored = await storedCounts(databaseUrl, domains);
  figures(`sigterm ${ackMode}`, load.tally, stored, `exit code ${exit.code}`);
  expect(exit).toEqual({ code: 0, signal: null });
  expect(service.output()).toMatch(/pending events flushed/);
  expect(load.tally.unexpected).toEqual([]);
  expect(total(load.tally.acked)).toBeGreaterThanOrEqual(200);
  expect(violations(load.tally, stored)).toEqual([]);
});
