// Benchmark: lookups with and without the Redis cache, at 1 million stored
// domains, in one run. Builds the service, starts a redis-server, then runs the
// compiled service (node dist/app/main.js) twice on the same store:
//   1. CACHE=redis: preloads the domains through POST /events (NDJSON batches;
//      skipped when the store already holds them), warms the cache with one bulk
//      lookup of every domain, then measures;
//   2. CACHE=none: the same warm-up (it warms PostgreSQL's buffers instead), then
//      measures the same load.
// Load: autocannon, GET /domains/{d} for a domain drawn uniformly from the
// stored ones, and POST /domains/lookup with 100 of them. p95 is computed from
// every response time (autocannon reports p90 and p97.5 only).
//
//   npx tsx bench/cache-bench.ts [--domains 1000000] [--duration 15]
//     [--connections 100] [--store postgres|memory] [--no-build] [--tracing]
//     [--caches redis,none] [--baseline DIST] [--rounds 1]
//
// --caches picks the runs, in order: `redis` (one redis-server), `cluster`
// (CACHE=redis on a three-master Redis Cluster, REDIS_CLUSTER_NODES), `none`.
// --baseline DIST adds a `redis` run of another build (DIST/app/main.js, e.g. the
// main branch compiled elsewhere) right before each `redis` run, so that the two
// builds are compared in one run; --rounds repeats the whole sequence (A B A B).
//
// Tracing is off (OTEL_SDK_DISABLED=true) unless --tracing: this measures the cache.
// STORE=postgres runs the service's embedded PostgreSQL with its data in
// .data/bench-postgres (kept between runs, so the preload happens once).
import autocannon from 'autocannon';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestRedis } from '../test/support/redis';
import { TestRedisCluster } from '../test/support/redis-cluster';
import { freePort } from '../test/support/free-port';

const ROOT = resolve(__dirname, '..');

interface Options {
  domains: number;
  duration: number;
  connections: number;
  store: 'postgres' | 'memory';
  build: boolean;
  tracing: boolean;
  caches: Array<'redis' | 'cluster' | 'none'>;
  baseline?: string;
  rounds: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { domains: 1_000_000, duration: 15, connections: 100, store: 'postgres', build: true, tracing: false, caches: ['redis', 'none'], rounds: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-build') opts.build = false;
    else if (a === '--tracing') opts.tracing = true;
    else if (a === '--domains') opts.domains = Number(argv[++i]);
    else if (a === '--duration') opts.duration = Number(argv[++i]);
    else if (a === '--connections') opts.connections = Number(argv[++i]);
    else if (a === '--store') opts.store = argv[++i] as Options['store'];
    else if (a === '--caches') opts.caches = argv[++i].split(',') as Options['caches'];
    else if (a === '--baseline') opts.baseline = resolve(argv[++i]);
    else if (a === '--rounds') opts.rounds = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

const domainOf = (i: number) => `d${i}.bench.example`;
class Service {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(env: Record<string, string>, dist = join(ROOT, 'dist')): Promise<Service> {
    const port = await freePort();
    const child = spawn(process.execPath, [join(dist, 'app/main.js')], {
      cwd: ROOT,
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`service exited at start:\n${output}`);
      try {
        const res = await fetch(`${url}/health/ready`);
        if (res.status === 200) return new Service(child, url);
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`service did not become ready:\n${output}`);
      await sleep(200);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }

  async metric(name: string, labels = ''): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const prefix = labels ? `${name}{${labels}} ` : `${name} `;
    const line = text.split('\n').find((l) => l.startsWith(prefix));
    return line ? Number(line.split(' ').pop()) : 0;
  }
}

async function post(url: string, body: string, contentType: string): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': contentType } });
  if (res.status !== 200) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Runs `tasks` with at most `concurrency` at a time. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function preload(service: Service, domains: number): Promise<number> {
  const probe = (await (await fetch(`${service.url}/domains/${domainOf(domains - 1)}`)).json()) as { delivered: number; bounced: number };
  if (probe.delivered + probe.bounced > 0) return 0;
  const batch = 10_000;
  const started = Date.now();
  await pool(Math.ceil(domains / batch), 4, async (b) => {
    const lines: string[] = [];
    for (let i = b * batch; i < Math.min(domains, (b + 1) * batch); i++) {
      lines.push(`{"domain":"${domainOf(i)}","type":"${i % 10 === 0 ? 'bounced' : 'delivered'}"}`);
    }
    await post(`${service.url}/events`, lines.join('\n'), 'application/x-ndjson');
  });
  return Date.now() - started;
}

/** One bulk lookup of every domain: fills the cache (read-through) or warms the database's buffers. */
async function warmUp(service: Service, domains: number): Promise<number> {
  const started = Date.now();
  await pool(Math.ceil(domains / 1000), 4, async (b) => {
    const names: string[] = [];
    for (let i = b * 1000; i < Math.min(domains, (b + 1) * 1000); i++) names.push(domainOf(i));
    await post(`${service.url}/domains/lookup`, JSON.stringify({ domains: names }), 'application/json');
  });
  return Date.now() - started;
}

interface Result {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
}

async function load(service: Service, opts: Options, kind: 'get' | 'bulk'): Promise<Result> {
  const times: number[] = [];
  const random = () => domainOf(Math.floor(Math.random() * opts.domains));
  const request =
    kind === 'get'
      ? {
          method: 'GET' as const,
          setupRequest: (req: autocannon.Request) => ({ ...req, path: `/domains/${random()}` }),
        }
      : {
          method: 'POST' as const,
          headers: { 'content-type': 'application/json' },
          setupRequest: (req: autocannon.Request) => ({
            ...req,
            path: '/domains/lookup',
            body: JSON.stringify({ domains: Array.from({ length: 100 }, random) }),
          }),
        };
  const result = await new Promise<autocannon.Result>((resolveRun, rejectRun) => {
    const instance = autocannon(
      { url: service.url, connections: opts.connections, duration: opts.duration, requests: [request] },
      (err, res) => (err ? rejectRun(err) : resolveRun(res)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => times.push(responseTime));
  });
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] ?? NaN;
  return {
    rps: result.requests.average,
    p50: pct(50),
    p95: pct(95),
    p99: pct(99),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.build) {
    console.log('building (tsc -p tsconfig.build.json)…');
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    } catch {
      console.warn('tsc reported errors; going on with what it emitted in dist/');
    }
  }
  const redis = await TestRedis.start();
  const cluster = opts.caches.includes('cluster') ? await TestRedisCluster.start() : undefined;
  const storeEnv: Record<string, string> =
    opts.store === 'postgres'
      ? {
          STORE: 'postgres',
          DATABASE_URL: '',
          EMBEDDED_PG_DIR: join(ROOT, '.data', 'bench-postgres'),
          EMBEDDED_PG_PORT: String(await freePort()),
        }
      : { STORE: 'memory' };
  if (opts.store === 'memory') {
    console.warn('STORE=memory: each service run has its own store, so each run preloads');
  }
  const runs: Array<{ label: string; cache: 'redis' | 'none'; env: Record<string, string>; dist?: string }> = [];
  for (let round = 0; round < opts.rounds; round++) {
    for (const cache of opts.caches) {
      if (cache === 'redis' && opts.baseline) runs.push({ label: 'redis (baseline)', cache, env: { REDIS_URL: redis.url }, dist: opts.baseline });
      if (cache === 'cluster') runs.push({ label: 'redis cluster', cache: 'redis', env: { REDIS_CLUSTER_NODES: cluster!.nodes.join(',') } });
      else runs.push({ label: cache, cache, env: { REDIS_URL: redis.url } });
    }
  }
  const rows: string[] = [];
  const notes: string[] = [];
  try {
    for (const run of runs) {
      const tracingEnv: Record<string, string> = opts.tracing ? {} : { OTEL_SDK_DISABLED: 'true' };
      // Each run starts from an empty cache, so that every run fills it the same way.
      await redis.restart();
      if (cluster) await cluster.flushAll();
      const service = await Service.start({ ...storeEnv, ...tracingEnv, CACHE: run.cache, ...run.env }, run.dist);
      try {
        const loadedMs = await preload(service, opts.domains);
        if (loadedMs > 0) notes.push(`preload of ${opts.domains} domains through POST /events: ${(loadedMs / 1000).toFixed(1)} s`);
        const warmMs = await warmUp(service, opts.domains);
        notes.push(`${run.label}: warm-up (bulk lookup of every domain) ${(warmMs / 1000).toFixed(1)} s`);
        for (const kind of ['get', 'bulk'] as const) {
          const hitsBefore = await service.metric('catchall_cache_lookups_total', 'result="hit"');
          const missesBefore = await service.metric('catchall_cache_lookups_total', 'result="miss"');
          const r = await load(service, opts, kind);
          const hits = (await service.metric('catchall_cache_lookups_total', 'result="hit"')) - hitsBefore;
          const misses = (await service.metric('catchall_cache_lookups_total', 'result="miss"')) - missesBefore;
          const hitRatio = run.cache === 'redis' && hits + misses > 0 ? `${((100 * hits) / (hits + misses)).toFixed(1)} %` : '–';
          const what = kind === 'get' ? 'GET /domains/{d}' : 'POST /domains/lookup (100 names)';
          rows.push(
            `| ${what} | ${run.label} | ${Math.round(r.rps).toLocaleString('en')} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | ${hitRatio} | ${r.errors + r.non2xx} |`,
          );
          console.log(rows[rows.length - 1]);
        }
      } finally {
        await service.stop();
      }
    }
  } finally {
    await redis.stop();
    await cluster?.destroy();
  }
  const cpu = cpus();
  console.log(`
### Results (${new Date().toISOString().slice(0, 10)})

${cpu.length} × ${cpu[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; STORE=${opts.store}; tracing ${opts.tracing ? 'on (defaults)' : 'off'};
${opts.domains.toLocaleString('en')} domains; autocannon ${opts.connections} connections × ${opts.duration} s per row, on the same machine.

| request | cache | req/s | p50 ms | p95 ms | p99 ms | cache hits | errors |
|---|---|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

${notes.map((n) => `- ${n}`).join('\n')}
`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
