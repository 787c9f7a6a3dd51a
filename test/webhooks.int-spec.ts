// Webhooks end to end (issue 13): service instances on a real PostgreSQL send
// the change feed to real HTTP receivers on loopback. A receiver that fails
// three times gets the change on the fourth attempt with the same webhook-id;
// signatures verify with the standardwebhooks library; each endpoint gets every
// change in feed order; a delivery that keeps failing is parked (in
// /webhooks/failures and /metrics) and later ones go on; two nodes on one
// database deliver each change once, on PostgreSQL and on Citus; STORE=memory
// says where its state lives.
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { startServer } from '../app/main';
import { RunningServer } from '../app/server';
import { endpointKey } from '../business/services';
import { closeAgent, request } from './support/http';
import { createCitusTestDatabase } from './support/citus';
import { createTestDatabase, dropTestDatabase } from './support/postgres';
import { Received, Respond, TEST_WEBHOOK_SECRET, WebhookReceiver } from './support/webhook-receiver';

const nodes: RunningServer[] = [];
const receivers: WebhookReceiver[] = [];
const databases: string[] = [];

/** With CATCHALL_THRESHOLD=0 one delivered event makes a new domain catch-all: one change per PUT. */
function env(databaseUrl: string | undefined, urls: string[], extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...(databaseUrl ? { STORE: 'postgres', DATABASE_URL: databaseUrl } : { STORE: 'memory' }),
    DATABASE_POOL_SIZE: '4',
    CATCHALL_THRESHOLD: '0',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    OTEL_SDK_DISABLED: 'true',
    WEBHOOK_URLS: urls.join(','),
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    WEBHOOK_BACKOFF_MS: '20',
    WEBHOOK_BACKOFF_MAX_MS: '100',
    WEBHOOK_TIMEOUT_MS: '1000',
    WEBHOOK_LEASE_MS: '2000',
    ...extra,
  };
}

async function receiver(respond?: Respond): Promise<WebhookReceiver> {
  const r = await WebhookReceiver.start(respond);
  receivers.push(r);
  return r;
}

async function node(settings: Record<string, string>): Promise<RunningServer> {
  const n = await startServer(settings);
  nodes.push(n);
  return n;
}

async function database(name: string): Promise<string> {
  const url = await createTestDatabase(name);
  databases.push(url);
  return url;
}

async function transition(n: RunningServer, domain: string, type: 'delivered' | 'bounced' = 'delivered'): Promise<void> {
  expect((await request(n.url, 'PUT', `/events/${domain}/${type}`)).status).toBe(204);
}

async function until(check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

const domainOf = (r: Received) => (JSON.parse(r.body) as { data: { domain: string } }).data.domain;

afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
  for (const r of receivers.splice(0)) await r.close();
  for (const url of databases.splice(0)) await dropTestDatabase(url);
});
afterAll(() => closeAgent());

describe('webhooks', () => {
  it('delivers to a receiver that fails three times then succeeds, with the same webhook-id and a signature that verifies', async () => {
    const hook = await receiver((_r, nth) => (nth <= 3 ? 500 : 204));
    const n = await node(env(await database('webhooks_retry_test'), [hook.url]));
    await transition(n, 'retry.webhooks-test.com');
    await until(() => hook.accepted().length === 1);
    expect(hook.received.map((r) => r.status)).toEqual([500, 500, 500, 204]);
    expect(new Set(hook.received.map((r) => r.id))).toEqual(new Set([`msg_1_${endpointKey(hook.url)}`]));
    for (const r of hook.received) {
      const verified = WebhookReceiver.verify(r) as Record<string, unknown>;
      expect(verified).toEqual(JSON.parse(r.body));
    }
    // The body is the change exactly as GET /changes shows it.
    const feed = await request(n.url, 'GET', '/changes');
    expect(JSON.parse(hook.received[3].body)).toEqual({
      type: 'domain.status_changed',
      timestamp: feed.body.changes[0].at,
      data: feed.body.changes[0],
    });
    // A tampered body does not verify.
    expect(() => WebhookReceiver.verify({ ...hook.received[3], body: hook.received[3].body.replace('retry', 'other') })).toThrow(
      /signature/i,
    );
  });

  it('sends every change to each of two endpoints in feed order', async () => {
    const one = await receiver();
    const two = await receiver((_r, nth) => (nth === 1 && Math.random() < 0.3 ? 503 : 200));
    const n = await node(env(await database('webhooks_order_test'), [one.url, two.url]));
    const domains = Array.from({ length: 25 }, (_, i) => `o${i}.webhooks-test.com`);
    // Several in flight at once: they share flushes, so the feed's order is the order to check against.
    await Promise.all(domains.map((d) => transition(n, d)));
    const feed = (await request(n.url, 'GET', '/changes?limit=1000')).body.changes.map((c: { domain: string }) => c.domain);
    expect(feed).toHaveLength(domains.length);
    await until(() => one.firstAccepted().length === 25 && two.firstAccepted().length === 25);
    expect(one.firstAccepted().map(domainOf)).toEqual(feed);
    expect(two.firstAccepted().map(domainOf)).toEqual(feed);
    // In order means each change is acknowledged before the next is sent.
    const sent = two.received.map(domainOf);
    expect(sent.filter((d, i) => d !== sent[i - 1])).toEqual(feed);
  });

  it('parks a delivery after WEBHOOK_MAX_ATTEMPTS, goes on with the next, and shows it in /webhooks/failures and /metrics', async () => {
    const hook = await receiver((r) => (r.body.includes('poison') ? 500 : 200));
    const n = await node(env(await database('webhooks_park_test'), [hook.url], { WEBHOOK_MAX_ATTEMPTS: '3' }));
    for (const d of ['before.webhooks-test.com', 'poison.webhooks-test.com', 'after.webhooks-test.com']) await transition(n, d);
    await until(() => hook.accepted().some((r) => domainOf(r) === 'after.webhooks-test.com'));
    expect(hook.received.map(domainOf)).toEqual([
      'before.webhooks-test.com',
      'poison.webhooks-test.com',
      'poison.webhooks-test.com',
      'poison.webhooks-test.com',
      'after.webhooks-test.com',
    ]);
    const key = endpointKey(hook.url);
    const failures = await request(n.url, 'GET', '/webhooks/failures');
    expect(failures.status).toBe(200);
    expect(failures.body.failures).toEqual([
      {
        endpoint: key,
        url: hook.url,
        webhookId: `msg_2_${key}`,
        cursor: expect.any(String),
        attempts: 3,
        lastError: 'HTTP 500',
        at: expect.any(String),
      },
    ]);
    const metrics = (await request(n.url, 'GET', '/metrics')).text;
    expect(metrics).toContain(`catchall_webhook_parked{endpoint="${key}"} 1`);
    expect(metrics).toContain(`catchall_webhook_parked_total{endpoint="${key}"} 1`);
    expect(metrics).toContain(`catchall_webhook_deliveries_total{endpoint="${key}"} 2`);
    expect((await request(n.url, 'GET', '/webhooks/failures?limit=0')).status).toBe(400);
  });

  it('with two nodes on one database, delivers each change once (one node holds the endpoint), and the other takes over', async () => {
    const hook = await receiver();
    const url = await database('webhooks_two_nodes_test');
    const a = await node(env(url, [hook.url]));
    const b = await node(env(url, [hook.url]));
    const domains = Array.from({ length: 30 }, (_, i) => `t${i}.webhooks-test.com`);
    await Promise.all(domains.map((d, i) => transition(i % 2 === 0 ? a : b, d)));
    await until(() => hook.received.length >= domains.length);
    await sleep(1_500); // more than a renewal period of the lease: a second deliverer would have sent by now
    expect(hook.received).toHaveLength(domains.length);
    expect(new Set(hook.received.map((r) => r.id)).size).toBe(domains.length);
    // The holder goes away (clean shutdown gives the lease up): the other node delivers what follows.
    const holder = (await request(a.url, 'GET', '/metrics')).text.includes(`catchall_webhook_lease_held{endpoint="${endpointKey(hook.url)}"} 1`)
      ? a
      : b;
    const other = holder === a ? b : a;
    await holder.close();
    nodes.splice(nodes.indexOf(holder), 1);
    await transition(other, 'after-handover.webhooks-test.com');
    await until(() => hook.received.some((r) => domainOf(r) === 'after-handover.webhooks-test.com'), 10_000);
    expect(new Set(hook.received.map((r) => r.id)).size).toBe(hook.received.length);
  });

  it('keeps acknowledging events while an endpoint holds a delivery open', async () => {
    const hook = await receiver(() => 'hold');
    const n = await node(env(await database('webhooks_ingest_test'), [hook.url], { WEBHOOK_TIMEOUT_MS: '30000', WEBHOOK_LEASE_MS: '60000' }));
    await transition(n, 'first.webhooks-test.com');
    await until(() => hook.received.length === 1);
    // The delivery of the first change is stuck; ingest (and its transitions) go on regardless.
    for (let i = 0; i < 20; i++) await transition(n, `more${i}.webhooks-test.com`);
    expect(hook.received).toHaveLength(1);
    expect((await request(n.url, 'GET', '/changes?limit=1000')).body.changes).toHaveLength(21);
  });

  it('on Citus, two nodes deliver each change once, with the webhook tables left plain tables of the coordinator', async () => {
    const hook = await receiver((_r, nth) => (nth === 1 && Math.random() < 0.2 ? 500 : 200));
    // The shared cluster is deleted whole at the end of the run.
    const url = await createCitusTestDatabase('webhooks_citus_test');
    const a = await node(env(url, [hook.url]));
    const b = await node(env(url, [hook.url]));
    const domains = Array.from({ length: 20 }, (_, i) => `c${i}.webhooks-test.com`);
    await Promise.all(domains.map((d, i) => transition(i % 2 === 0 ? a : b, d)));
    await until(() => hook.firstAccepted().length === domains.length);
    await sleep(1_500);
    expect(new Set(hook.accepted().map((r) => r.id)).size).toBe(hook.accepted().length);
    const feed = (await request(a.url, 'GET', '/changes?limit=1000')).body.changes.map((c: { domain: string }) => c.domain);
    expect(hook.firstAccepted().map(domainOf)).toEqual(feed);
    expect(new Set(feed)).toEqual(new Set(domains));
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const layout = await client.query("SELECT logicalrelid::text FROM pg_dist_partition WHERE logicalrelid::text LIKE 'webhook%'");
      expect(layout.rows).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it('STORE=memory delivers too, and /health says its delivery state is in this process only', async () => {
    const hook = await receiver();
    const n = await node(env(undefined, [hook.url]));
    await transition(n, 'memory.webhooks-test.com');
    await until(() => hook.accepted().length === 1);
    expect(WebhookReceiver.verify(hook.received[0])).toMatchObject({ data: { domain: 'memory.webhooks-test.com' } });
    const health = await request(n.url, 'GET', '/health');
    expect(health.body.info.webhooks).toMatchObject({ status: 'up', endpoints: 1, durable: false, kind: 'memory' });
  });

  it('needs a read key for /webhooks/failures when keys are set', async () => {
    const read = 'dash:read:r-secret-0123456789abcdef';
    const n = await node({ ...env(undefined, []), WEBHOOK_URLS: '', API_KEYS: read });
    expect((await request(n.url, 'GET', '/webhooks/failures')).status).toBe(401);
    const ok = await request(n.url, 'GET', '/webhooks/failures', undefined, { authorization: 'Bearer r-secret-0123456789abcdef' });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ failures: [] });
  });
});
