// Fault: kill -9 of the service between the commit of transitions and their
// webhook delivery. The compiled service runs against PostgreSQL with a
// receiver that answers the first deliveries and then holds the next one open
// (in flight when the process dies). After a restart the receiver ends with
// every transition, each under its stable webhook-id (msg_<change id>_<endpoint
// key>), the held one again with the same id, in feed order, none skipped.
// And SIGTERM with a delivery held open: the process stops at once (the attempt
// is aborted, the lease given up), and the next start sends it again at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { endpointKey } from '../../business/services';
import { closeAgent, request } from '../support/http';
import { createTestDatabase, dropTestDatabase } from '../support/postgres';
import { ensureBuilt, ServiceChild, startServiceProcess } from '../support/service-child';
import { TEST_WEBHOOK_SECRET, WebhookReceiver } from '../support/webhook-receiver';

let databaseUrl: string;
let receiver: WebhookReceiver;
const services: ServiceChild[] = [];
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  ensureBuilt();
  databaseUrl = await createTestDatabase('fault_webhooks_kill9_test');
}, 120_000);
afterAll(async () => {
  for (const s of services) s.child.kill('SIGKILL');
  await receiver?.close();
  for (const r of receivers) await r.close();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
  closeAgent();
});

async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

it('redelivers with the same webhook-id and skips no transition when the service is killed with SIGKILL', async () => {
  const ACKED_BEFORE_KILL = 3;
  receiver = await WebhookReceiver.start((_r, nth) => (nth === 1 && receiver.accepted().length < ACKED_BEFORE_KILL ? 200 : 'hold'));
  const env = {
    STORE: 'postgres',
    DATABASE_URL: databaseUrl,
    ACK_MODE: 'durable',
    CATCHALL_THRESHOLD: '0',
    WEBHOOK_URLS: receiver.url,
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    // A held request outlasts its timeout and is tried again: all the while the same change.
    WEBHOOK_TIMEOUT_MS: '2000',
    WEBHOOK_BACKOFF_MS: '50',
    WEBHOOK_BACKOFF_MAX_MS: '200',
    WEBHOOK_LEASE_MS: '4000',
  };
  const first = await startServiceProcess(env);
  services.push(first);
  const domains = Array.from({ length: 10 }, (_, i) => `k${i}.webhooks-kill9-test.com`);
  for (const d of domains) expect((await request(first.url, 'PUT', `/events/${d}/delivered`)).status).toBe(204);
  // Three acknowledged, the fourth in flight (held) when the process dies.
  await until(() => receiver.received.length === ACKED_BEFORE_KILL + 1, 15_000);
  const held = receiver.received[ACKED_BEFORE_KILL];
  expect(held.status).toBeUndefined();
  first.child.kill('SIGKILL');
  expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });

  receiver.respond = () => 200;
  const second = await startServiceProcess(env);
  services.push(second);
  // The dead node's lease expires (WEBHOOK_LEASE_MS), then the new one delivers the rest.
  await until(() => new Set(receiver.accepted().map((r) => r.id)).size === domains.length, 30_000);

  const feed = (await request(second.url, 'GET', '/changes?limit=1000')).body.changes as Array<{ cursor: string; domain: string }>;
  expect(feed.map((c) => c.domain)).toEqual(domains);
  const key = endpointKey(receiver.url);
  const expectedIds = feed.map((c) => `msg_${Buffer.from(c.cursor, 'base64url').toString()}_${key}`);
  // Every transition arrived, under its stable id, in feed order, each with a signature that verifies.
  expect(receiver.firstAccepted().map((r) => r.id)).toEqual(expectedIds);
  for (const r of receiver.accepted()) {
    const body = WebhookReceiver.verify(r) as { data: { cursor: string } };
    expect(expectedIds[feed.findIndex((c) => c.cursor === body.data.cursor)]).toBe(r.id);
  }
  // The one in flight at the kill came again with the same id and the same body.
  const again = receiver.accepted().find((r) => r.id === held.id);
  expect(again?.body).toBe(held.body);
  // Those acknowledged before the kill were not sent again (the cursor had moved past them).
  for (const r of receiver.received.slice(0, ACKED_BEFORE_KILL)) expect(receiver.received.filter((x) => x.id === r.id)).toHaveLength(1);
  second.child.kill('SIGTERM');
  await second.exited;
});

it('stops at once on SIGTERM with a delivery in flight, and the next start sends it again with the same id', async () => {
  const hook = await WebhookReceiver.start(() => 'hold');
  receivers.push(hook);
  const env = {
    STORE: 'postgres',
    DATABASE_URL: databaseUrl,
    CATCHALL_THRESHOLD: '0',
    WEBHOOK_URLS: hook.url,
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    WEBHOOK_TIMEOUT_MS: '30000',
    // Long: only a released lease lets the next start deliver within the wait below.
    WEBHOOK_LEASE_MS: '120000',
  };
  const first = await startServiceProcess(env);
  services.push(first);
  expect((await request(first.url, 'PUT', '/events/term.webhooks-kill9-test.com/delivered')).status).toBe(204);
  // A new endpoint starts from the oldest change kept: the first test's ten, then this one.
  await until(() => hook.received.length > 0, 15_000);
  const held = hook.received[0];
  const started = Date.now();
  first.child.kill('SIGTERM');
  expect(await first.exited).toEqual({ code: 0, signal: null });
  expect(Date.now() - started).toBeLessThan(10_000);

  hook.respond = () => 200;
  const second = await startServiceProcess(env);
  services.push(second);
  await until(() => hook.accepted().some((r) => r.id === held.id), 10_000);
  expect(hook.accepted().find((r) => r.id === held.id)?.body).toBe(held.body);
  second.child.kill('SIGTERM');
  await second.exited;
});
