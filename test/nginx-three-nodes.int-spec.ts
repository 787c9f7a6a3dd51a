// Three service processes (the compiled server) against one database (the
// Citus coordinator of the test cluster), behind a
// real nginx running deploy/nginx/nginx.conf: the reference event distribution
// (create-events) sent through nginx is counted exactly — every domain's counts
// and status, read through nginx and straight from the database — with no
// cache and with the three nodes sharing a three-master Redis Cluster cache. A
// node killed mid-run loses nothing acknowledged and nothing is counted twice;
// and nginx never sends a write to a second node once the first one had it.
// /stats equals a full count of the database, and the change feed holds each
// domain's transitions once, in order, ending in its stored status.
import { createServer, Socket } from 'node:net';
import { Client } from 'pg';
import { run } from '../app/cmd/create-events';
import { Options, withDefaults } from '../app/cmd/create-events/options';
import { Report } from '../app/cmd/create-events/report';
import { classify } from '../business/models';
import { closeAgent, request } from './support/http';
import { createCitusTestDatabase } from './support/citus';
import { TestNginx } from './support/nginx';
import { createTestDatabase, dropTestDatabase } from './support/postgres';
import { TestRedisCluster } from './support/redis-cluster';
import { ensureBuilt, ServiceProcess } from './support/service-process';

const THRESHOLD = 1000;
// A run of 20,000 events through nginx took 15–45 s on the shared 2-core test machine.
const RUN_TIMEOUT_MS = 240_000;

/** The one database the three nodes share: a database on the Citus cluster's coordinator. */
async function startDatabaseForNodes(name: string): Promise<{ url: string; destroy(): Promise<void> }> {
  // The cluster (and with it the database) is removed by jest's global teardown.
  return { url: await createCitusTestDatabase(name), destroy: async () => undefined };
}

/** A plain PostgreSQL database, for the test of nginx's retries (no database behaviour under test). */
async function startPlainDatabase(name: string): Promise<{ url: string; destroy(): Promise<void> }> {
  const url = await createTestDatabase(name);
  return { url, destroy: () => dropTestDatabase(url) };
}

interface Row {
  name: string;
  delivered: number;
  bounced: number;
}

async function storedRows(databaseUrl: string): Promise<Row[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; delivered: string; bounced: string }>('SELECT name, delivered, bounced FROM domains');
    return rows.map((r) => ({ name: r.name, delivered: Number(r.delivered), bounced: Number(r.bounced) }));
  } finally {
    await client.end();
  }
}

/** Every stored domain looked up through `base` must show exactly its stored counts and the status they give. */
async function expectLookupsMatchStore(base: string, rows: readonly Row[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000) {
    const batch = rows.slice(i, i + 1000);
    const answer = await request(base, 'POST', '/domains/lookup', { domains: batch.map((r) => r.name) });
    expect(answer.status).toBe(200);
    const got = answer.body.results.map((r: { domain: string; status: string; delivered: number; bounced: number }) => [r.domain, r.status, r.delivered, r.bounced]);
    expect(got).toEqual(batch.map((r) => [r.name, classify(r, THRESHOLD), r.delivered, r.bounced]));
  }
}

/** /stats through `base` must equal a full count of the stored rows. */
async function expectStatsMatchStore(base: string, rows: readonly Row[]): Promise<void> {
  const domains = { unknown: 0, 'catch-all': 0, 'not catch-all': 0 };
  const events = { delivered: 0, bounced: 0 };
  for (const row of rows) {
    domains[classify(row, THRESHOLD)]++;
    events.delivered += row.delivered;
    events.bounced += row.bounced;
  }
  const answer = await request(base, 'GET', '/stats');
  expect(answer.status).toBe(200);
  expect(answer.body).toEqual({ domains, events });
}

/**
 * The whole change feed read through `base` (pages of 1000, each long-polled
 * briefly until one comes back empty) must hold, for each domain that is not
 * unknown, its transitions in order ending in its stored status, and nothing
 * for the others; cursors only grow.
 */
async function expectFeedMatchesStore(base: string, rows: readonly Row[]): Promise<void> {
  const byDomain = new Map<string, string[]>();
  let after = '';
  for (;;) {
    const answer = await request(base, 'GET', `/changes?limit=1000&wait=3${after ? `&after=${after}` : ''}`);
    expect(answer.status).toBe(200);
    const changes: Array<{ domain: string; from: string; to: string }> = answer.body.changes;
    if (changes.length === 0) break;
    for (const c of changes) byDomain.set(c.domain, [...(byDomain.get(c.domain) ?? ['unknown']), `${c.from}>${c.to}`]);
    after = answer.body.next;
  }
  for (const row of rows) {
    const status = classify(row, THRESHOLD);
    const chain = byDomain.get(row.name) ?? ['unknown'];
    // Each step starts where the one before ended, and the last ends in the stored status.
    let at = chain[0];
    for (const step of chain.slice(1)) {
      const [from, to] = step.split('>');
      expect([row.name, from]).toEqual([row.name, at]);
      at = to;
    }
    expect([row.name, at]).toEqual([row.name, status]);
  }
  expect(byDomain.size).toBe(rows.filter((r) => classify(r, THRESHOLD) !== 'unknown').length);
}

async function requestsServed(node: ServiceProcess, method: string): Promise<number> {
  const text = (await request(node.url, 'GET', '/metrics')).text;
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`http_request_duration_seconds_count{method="${method}"`)) total += Number(line.split(' ').pop());
  }
  return total;
}

function reportOf(url: string, draft: Partial<Options>): Promise<Report> {
  return run(withDefaults({ url, progress: false, threshold: THRESHOLD, concurrency: 32, ...draft }, {}));
}

beforeAll(() => ensureBuilt());
afterAll(() => closeAgent());

describe.each([
  { setup: 'no cache', cache: false },
  { setup: 'a shared Redis Cluster cache', cache: true },
])('three nodes behind nginx, one database, $setup', ({ cache }) => {
  let database: { url: string; destroy(): Promise<void> };
  let cluster: TestRedisCluster | undefined;
  let nodes: ServiceProcess[] = [];
  let nginx: TestNginx;
  let sent = 0;

  beforeAll(async () => {
    database = await startDatabaseForNodes(cache ? 'nginx_three_nodes_rcluster_test' : 'nginx_three_nodes_test');
    if (cache) cluster = await TestRedisCluster.start();
    const env: Record<string, string> = {
      STORE: 'postgres',
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: '4',
      CATCHALL_THRESHOLD: String(THRESHOLD),
      OTEL_SDK_DISABLED: 'true',
      ...(cluster ? { CACHE: 'redis', REDIS_CLUSTER_NODES: cluster.nodes.join(',') } : { CACHE: 'none' }),
    };
    // The first one migrates the schema; the others start beside each other.
    nodes = [await ServiceProcess.start(env)];
    nodes.push(...(await Promise.all([ServiceProcess.start(env), ServiceProcess.start(env)])));
    nginx = await TestNginx.start(nodes.map((n) => n.address));
  }, 180_000);

  afterAll(async () => {
    await nginx?.stop();
    await Promise.all(nodes.map((n) => n.stop()));
    await cluster?.destroy();
    await database?.destroy();
  });

  it('counts the reference distribution sent as single PUTs through nginx exactly, through nginx and in the database', async () => {
    const before = await Promise.all(nodes.map((n) => requestsServed(n, 'PUT')));
    const report = await reportOf(nginx.url, { mode: 'single', events: 20_000, seed: 1201 });
    sent += 20_000;
    expect(report.events).toEqual({ sent: 20_000, acknowledged: 20_000, failed: 0 });
    expect(report.errors).toEqual({});
    expect(report.verification).toMatchObject({ outcome: 'passed', mismatches: [], inconclusive: 0 });
    expect(report.verification.matched).toBe(report.domains);
    // nginx spread the writes over all three nodes.
    const after = await Promise.all(nodes.map((n) => requestsServed(n, 'PUT')));
    after.forEach((n, i) => expect(n - before[i]).toBeGreaterThan(1000));

    const rows = await storedRows(database.url);
    expect(rows).toHaveLength(report.domains);
    expect(rows.reduce((sum, r) => sum + r.delivered + r.bounced, 0)).toBe(sent);
    const statuses = { 'catch-all': 0, 'not catch-all': 0, unknown: 0 };
    for (const row of rows) statuses[classify(row, THRESHOLD)]++;
    expect(statuses).toEqual(report.expected);
    await expectLookupsMatchStore(nginx.url, rows);
    await expectStatsMatchStore(nginx.url, rows);
    await expectFeedMatchesStore(nginx.url, rows);
    // and each node on its own says the same
    for (const node of nodes) await expectLookupsMatchStore(node.url, rows.slice(0, 1000));
  }, RUN_TIMEOUT_MS);

  it('counts NDJSON batches (POST /events) through nginx exactly', async () => {
    const report = await reportOf(nginx.url, { mode: 'ndjson', batchSize: 200, events: 20_000, seed: 1202 });
    sent += 20_000;
    expect(report.events).toEqual({ sent: 20_000, acknowledged: 20_000, failed: 0 });
    expect(report.verification).toMatchObject({ outcome: 'passed', mismatches: [], inconclusive: 0 });
    const rows = await storedRows(database.url);
    expect(rows.reduce((sum, r) => sum + r.delivered + r.bounced, 0)).toBe(sent);
    await expectLookupsMatchStore(nginx.url, rows);
    await expectStatsMatchStore(nginx.url, rows);
  }, RUN_TIMEOUT_MS);

  it('a node killed mid-run: nothing acknowledged is lost, nothing is counted twice, the others take over', async () => {
    const running = reportOf(nginx.url, { mode: 'single', events: 20_000, seed: 1203 });
    await new Promise((r) => setTimeout(r, 1500));
    await nodes[2].kill();
    const report = await running;
    expect(report.events.sent).toBe(20_000);
    // Requests in flight on the killed node fail (503 from nginx, never retried
    // elsewhere); the rest, most of the run, are acknowledged by the other two.
    expect(report.events.acknowledged + report.events.failed).toBe(20_000);
    expect(report.events.acknowledged).toBeGreaterThan(15_000);
    // Every domain lies between what was acknowledged and that plus the failed
    // events (a failed request may have been counted): never more, never less.
    expect(report.verification.mismatches).toEqual([]);
    expect(['passed', 'inconclusive']).toContain(report.verification.outcome);
    const rows = await storedRows(database.url);
    const total = rows.reduce((sum, r) => sum + r.delivered + r.bounced, 0);
    expect(total).toBeGreaterThanOrEqual(sent + report.events.acknowledged);
    expect(total).toBeLessThanOrEqual(sent + 20_000);
    sent = total;
    await expectLookupsMatchStore(nginx.url, rows);
    // Nothing acknowledged or not, the stats of the store are its own full count.
    await expectStatsMatchStore(nginx.url, rows);
    await expectFeedMatchesStore(nginx.url, rows);
    nodes.pop();
  }, RUN_TIMEOUT_MS);
});

describe('nginx retry policy', () => {
  let database: { url: string; destroy(): Promise<void> };
  let node: ServiceProcess;
  let crasher: Crasher;

  beforeAll(async () => {
    database = await startPlainDatabase('nginx_retry_test');
    node = await ServiceProcess.start({ STORE: 'postgres', DATABASE_URL: database.url, DATABASE_POOL_SIZE: '4', OTEL_SDK_DISABLED: 'true' });
    crasher = await Crasher.start();
  }, 120_000);

  afterAll(async () => {
    await crasher?.close();
    await node?.stop();
    await database?.destroy();
  });

  it('never passes a PUT on to another node once one had it: the client gets a 503, the event is not counted twice', async () => {
    const nginx = await TestNginx.start([crasher.address, node.address]);
    const put = () => request(nginx.url, 'PUT', '/events/retry-put.example.com/delivered');
    try {
      const answers: number[] = [];
      for (let i = 0; i < 10 && crasher.requests.length === 0; i++) answers.push((await put()).status);
      expect(crasher.requests.filter((r) => r.startsWith('PUT '))).toHaveLength(1);
      // The request the crasher took was answered 503 (JSON), not retried on the live node.
      expect(answers[answers.length - 1]).toBe(503);
      const counted = await request(node.url, 'GET', '/domains/retry-put.example.com');
      expect(counted.body.delivered).toBe(answers.filter((s) => s === 204).length);
      expect(answers.filter((s) => s !== 204 && s !== 503)).toEqual([]);
      // and the crashed node is left alone for a while: the next writes all land on the live one
      for (let i = 0; i < 5; i++) expect((await put()).status).toBe(204);
      expect(crasher.requests.filter((r) => r.startsWith('PUT '))).toHaveLength(1);
    } finally {
      await nginx.stop();
    }
  });

  it('passes a GET on to another node when the first one fails', async () => {
    const nginx = await TestNginx.start([crasher.address, node.address]);
    try {
      const before = crasher.requests.length;
      for (let i = 0; i < 10 && crasher.requests.length === before; i++) {
        const answer = await request(nginx.url, 'GET', '/domains/retry-get.example.com');
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ domain: 'retry-get.example.com', status: 'unknown' });
      }
      expect(crasher.requests.length).toBe(before + 1);
      expect(crasher.requests[crasher.requests.length - 1]).toMatch(/^GET /);
    } finally {
      await nginx.stop();
    }
  });

  it('answers JSON for what nginx itself refuses: a body over BODY_LIMIT_BYTES', async () => {
    const nginx = await TestNginx.start([node.address]);
    try {
      const answer = await request(nginx.url, 'POST', '/events', Buffer.alloc(5 * 1024 * 1024, 32), { 'content-type': 'application/json' });
      expect(answer.status).toBe(413);
      expect(answer.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    } finally {
      await nginx.stop();
    }
  });
});

/**
 * An upstream that reads a request and then drops the connection without an
 * answer: a node that crashed after it may have counted the event. A stand-in
 * for one failure mode of a real node (killing a real node at that exact
 * moment cannot be timed), so that the retry policy is tested deterministically.
 */
class Crasher {
  readonly requests: string[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: ReturnType<typeof createServer>) {}

  get address(): string {
    const a = this.server.address();
    return `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  }

  static async start(): Promise<Crasher> {
    const crasher: Crasher = new Crasher(
      createServer((socket) => {
        crasher.sockets.add(socket);
        socket.on('close', () => crasher.sockets.delete(socket));
        socket.on('error', () => undefined);
        let head = '';
        socket.on('data', (d: Buffer) => {
          head += d.toString('latin1');
          if (head.includes('\r\n\r\n')) {
            crasher.requests.push(head.slice(0, head.indexOf('\r\n')));
            head = '';
            socket.destroy();
          }
        });
      }),
    );
    await new Promise<void>((resolve) => crasher.server.listen(0, '127.0.0.1', resolve));
    return crasher;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
