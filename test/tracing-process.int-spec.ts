// Tracing of the compiled service as it runs in production (node main.js, where
// OpenTelemetry's require hooks patch pg and ioredis; jest's module loader
// bypasses them) with TRACES_DETAIL=full, against real PostgreSQL and Redis,
// exporting OTLP/HTTP JSON to
// a collector stub in this test: database and cache spans nest under the flush
// span and under the lookup's server span; the trace page (TRACES_UI=true)
// shows them in a real browser (Debian's chromium through playwright-core; a
// screenshot lands in .test-data/traces-page.png, and in docs/ with
// UPDATE_SCREENSHOTS=1; chromium is required: apt-get install -y chromium); SIGTERM
// still exits promptly.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { createTestDatabase, dropTestDatabase, TEST_DATA_DIR } from './support/postgres';
import { TestRedis } from './support/redis';

const root = path.resolve(__dirname, '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
}
// A build of its own: rewriting dist/ under another test that runs it would race.
const outDir = path.join(TEST_DATA_DIR, 'dist-tracing');

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
  links?: Array<{ traceId: string; spanId: string }>;
}

interface OtlpBody {
  resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

/** Accepts OTLP/HTTP JSON trace exports and keeps the spans. */
class CollectorStub {
  readonly spans: OtlpSpan[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.url === '/v1/traces') {
          const parsed = JSON.parse(body) as OtlpBody;
          for (const rs of parsed.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) this.spans.push(...(ss.spans ?? []));
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server!.close(r));
  }

  async waitFor<T>(find: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} among ${this.spans.map((s) => s.name).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes?.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : Object.values(v)[0];
};
const dbSystem = (s: OtlpSpan): unknown => attr(s, 'db.system.name') ?? attr(s, 'db.system');

let collector: CollectorStub;
let redis: TestRedis;
let databaseUrl: string;
let child: ChildProcess;
let url: string;
let output = '';

beforeAll(async () => {
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
  collector = new CollectorStub();
  const collectorUrl = await collector.start();
  redis = await TestRedis.start();
  databaseUrl = await createTestDatabase('catchall_tracing_test');
  child = spawn(process.execPath, [path.join(outDir, 'app/main.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      AUTH: 'none',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      STORE: 'postgres',
      DATABASE_URL: databaseUrl,
      CACHE: 'redis',
      REDIS_URL: redis.url,
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
      OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      TRACES_UI: 'true',
      TRACES_DETAIL: 'full',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start: ${output}`)), 30_000);
    child.stdout!.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  await collector?.stop();
  await redis?.stop();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
});

describe('tracing in the compiled service', () => {
  it('nests the database and cache writes of a flush under its span, linked to the request', async () => {
    const res = await fetch(`${url}/events/pg.example.com/delivered`, { method: 'PUT' });
    expect(res.status).toBe(204);
    const put = await collector.waitFor(() => collector.spans.find((s) => s.name === 'PUT /events/:domain/:type'), 'PUT span');
    const flush = await collector.waitFor(
      () => collector.spans.find((s) => s.name === 'ingest.flush' && s.links?.some((l) => l.spanId === put.spanId)),
      'flush span linked to the PUT',
    );
    const pg = await collector.waitFor(
      () => collector.spans.find((s) => s.parentSpanId === flush.spanId && dbSystem(s) === 'postgresql'),
      'postgresql span under the flush',
    );
    expect(pg.traceId).toBe(flush.traceId);
    const cache = await collector.waitFor(
      () => collector.spans.find((s) => s.traceId === flush.traceId && dbSystem(s) === 'redis'),
      'redis span in the flush trace',
    );
    expect(cache.parentSpanId).toBe(flush.spanId);
    // Nothing of the flush was parented to the request that happened to schedule it.
    expect(collector.spans.filter((s) => s.traceId === put.traceId).map((s) => s.name)).toEqual(['PUT /events/:domain/:type']);
  });

  it('nests the lookup’s cache and store reads under the GET span', async () => {
    const res = await fetch(`${url}/domains/lookup-miss.example.com`);
    expect(res.status).toBe(200);
    const get = await collector.waitFor(
      () => collector.spans.find((s) => s.name === 'GET /domains/:domain' && attr(s, 'url.path') === '/domains/lookup-miss.example.com'),
      'GET span',
    );
    const children = await collector.waitFor(() => {
      const c = collector.spans.filter((s) => s.parentSpanId === get.spanId);
      return c.some((s) => dbSystem(s) === 'postgresql') && c.some((s) => dbSystem(s) === 'redis') ? c : undefined;
    }, 'redis and postgresql spans under the GET');
    expect(children.every((s) => s.traceId === get.traceId)).toBe(true);
  });

  it('makes no orphan database spans from health probes (no parent span, no span)', async () => {
    const before = collector.spans.length;
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(collector.spans.slice(before).filter((s) => dbSystem(s) !== undefined)).toEqual([]);
  });

  it('shows the traces with their span trees on /debug/traces', async () => {
    const put = (d: string, t: string) => fetch(`${url}/events/${d}/${t}`, { method: 'PUT' });
    await Promise.all([put('mail.example.com', 'delivered'), put('shop.example.org', 'delivered'), put('bounce.example.net', 'bounced')]);
    await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ domain: 'a.example.com', type: 'delivered' }, { domain: 'b.example.com', type: 'bounced' }] }),
    });
    await fetch(`${url}/domains/mail.example.com`);
    await fetch(`${url}/domains/not_a_domain`);
    await fetch(`${url}/metrics`);
    await new Promise((r) => setTimeout(r, 200)); // cache merges finish beside their flush

    const profile = mkdtempSync(path.join(tmpdir(), 'catchall-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 1000 },
    });
    try {
      const page = await browser.newPage();
      const response = await page.goto(`${url}/debug/traces`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
      expect(await page.title()).toBe('Traces · catchall');

      const names = await page.locator('#recent details.trace summary .name').allTextContents();
      expect(names).toEqual(expect.arrayContaining(['PUT /events/:domain/:type', 'POST /events', 'GET /domains/:domain', 'ingest.flush']));
      expect(names).not.toContain('GET /metrics');

      // Open every trace: each span is a row with a visible timing bar.
      await page.locator('#recent details.trace:not([open]) summary').evaluateAll((els) => els.forEach((e) => (e as unknown as { click(): void }).click()));
      const bars = await page.locator('#recent .bar').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
      expect(bars.length).toBeGreaterThan(names.length);
      expect(bars.every((w) => w > 0)).toBe(true);
      await expect(page.locator('#recent tr.detail', { hasText: 'http.response.status_code 400' }).count()).resolves.toBe(1);

      // A flush nests its database and cache calls, and links to the requests it stored.
      const flush = page.locator('#recent details.trace', { has: page.locator('.links a.ref') }).first();
      const spanRows = await flush.locator('tr.span td.sname').allTextContents();
      expect(spanRows[0]).toMatch(/ingest\.flush$/);
      expect(spanRows.length).toBeGreaterThan(1);
      const target = await flush.locator('.links a.ref').first().getAttribute('href');
      expect(target).toMatch(/^#t-[0-9a-f]{32}$/);
      await expect(page.locator(target!).locator('summary .name').textContent()).resolves.toMatch(/^(PUT \/events\/:domain\/:type|POST \/events)$/);
      await expect(page.locator(target!).locator('.backlinks a.ref').count()).resolves.toBeGreaterThan(0);

      // A lookup's server span has its cache and store reads under it (indented).
      const lookup = page.locator('#recent details.trace', { has: page.locator('summary .name', { hasText: 'GET /domains/:domain' }) });
      const depths = await lookup.locator('tr.span td.sname').evaluateAll((els) => els.map((e) => parseFloat((e as unknown as { style: { paddingLeft: string } }).style.paddingLeft)));
      expect(Math.max(...depths)).toBeGreaterThan(Math.min(...depths));

      await expect(page.locator('#summary table.summary tbody tr').count()).resolves.toBeGreaterThanOrEqual(4);

      mkdirSync(path.join(root, '.test-data'), { recursive: true });
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: path.join(root, '.test-data', 'traces-page.png') });
      if (process.env.UPDATE_SCREENSHOTS === '1') await page.screenshot({ path: path.join(root, 'docs', 'traces-page.png') });

      const json = await fetch(`${url}/debug/traces?format=json`);
      expect(json.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await json.json()) as { recent: Array<{ spans: unknown[] }>; slowest: unknown[] };
      expect(body.recent.length).toBeGreaterThan(0);
      expect(body.slowest.length).toBeGreaterThan(0);
      expect((await fetch(`${url}/debug/traces?format=xml`)).status).toBe(400);
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it('exits promptly on SIGTERM', async () => {
    const started = Date.now();
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
