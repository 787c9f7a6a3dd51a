// Benchmark: the write path, memory against PostgreSQL, in one run.
//   1. PUT /events/{random domain}/delivered, STORE=memory, ACK_MODE=durable
//   2. the same, STORE=postgres, ACK_MODE=durable (answered after the commit)
//   3. POST /events, NDJSON, 1000 events a request, STORE=memory then STORE=postgres
//      (durable), domains drawn uniformly from 10 million (nearly every event a
//      new row: the worst case for the store), by Zipf's law from 1 million (a
//      few domains get most events, as in mail traffic) and uniformly from 5,000
//      (hot domains: events coalesce within a flush)
// The service runs compiled, as a child process (node dist/app/main.js), so the
// load generator (autocannon, in this process) and the server do not share an
// event loop. PostgreSQL is the service's own embedded server (the default
// start, fsync and synchronous_commit on) with its data in
// .data/bench-put-postgres, deleted at the start of each run; or BENCH_DATABASE_URL.
// p95 comes from every response time (autocannon itself reports p90 and p97.5).
//
//   npx tsx bench/put-bench.ts [--duration 10] [--connections 64]
//     [--ndjson-connections 32] [--no-build] [--env NAME=value ...] [--dist dist]
//     [--node-arg --cpu-prof ...]
//     [--only memory,postgres,ndjson-memory,ndjson,ndjson-zipf,ndjson-5k,ndjson-5k-keyed]
//     (also, when named in --only: memory-auth, memory-auth-limit: the PUT
//     path with an API key, and with a key and a rate limit that never trips)
import autocannon from 'autocannon';
import { build } from 'hdr-histogram-js';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../test/support/free-port';

const ROOT = resolve(__dirname, '..');
const PG_DIR = join(ROOT, '.data', 'bench-put-postgres');
const CLOCK_TICKS = 100;
const BENCH_SECRET = 'bench-secret-0123456789abcdef';

interface Options {
  duration: number;
  warmup: number;
  connections: number;
  ndjsonConnections: number;
  build: boolean;
  only: Set<string>;
  /** Extra service settings for every scenario (--env NAME=value). */
  env: Record<string, string>;
  /** Compiled service to run (a patched copy, for experiments). */
  dist: string;
  /** Extra node flags for the service (--node-arg --cpu-prof, for profiling). */
  nodeArgs: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    duration: 10,
    warmup: 3,
    connections: 64,
    ndjsonConnections: 32,
    build: true,
    only: new Set(['memory', 'postgres', 'ndjson-memory', 'ndjson', 'ndjson-zipf', 'ndjson-5k', 'ndjson-5k-keyed']),
    env: {},
    dist: join(ROOT, 'dist'),
    nodeArgs: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-build') o.build = false;
    else if (a === '--duration') o.duration = Number(argv[++i]);
    else if (a === '--warmup') o.warmup = Number(argv[++i]);
    else if (a === '--connections') o.connections = Number(argv[++i]);
    else if (a === '--ndjson-connections') o.ndjsonConnections = Number(argv[++i]);
    else if (a === '--only') o.only = new Set(argv[++i].split(','));
    else if (a === '--dist') o.dist = resolve(argv[++i]);
    else if (a === '--node-arg') o.nodeArgs.push(argv[++i]);
    else if (a === '--env') {
      const [name, ...value] = argv[++i].split('=');
      o.env[name] = value.join('=');
    }
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

interface Scenario {
  key: string;
  title: string;
  env: Record<string, string>;
  kind: 'put' | 'ndjson';
  connections: number;
  /** Domains are drawn from this many names: uniformly, or by Zipf's law (rank r with weight 1/r). */
  space: number;
  zipf?: boolean;
  /** Sent with every request (an API key). */
  headers?: Record<string, string>;
  /** Each request carries a new Idempotency-Key (applied once, in its own transaction). */
  keyed?: boolean;
}

interface Outcome {
  scenario: Scenario;
  requestsPerS: number;
  eventsPerS: number;
  p50: number;
  p95: number;
  p99: number;
  non2xx: number;
  errors: number;
  serverCpu: number;
  pgCpu: number | undefined;
  benchCpu: number;
  eventsPerFlush: number | undefined;
  domainsPerFlush: number | undefined;
  commitP50: string | undefined;
  /** Mean upsert time (ms), from the histogram's sum and count. */
  commitMean: number | undefined;
}

let seed = 12345;
/** A fast, seeded PRNG: the load generator must not be the bottleneck. */
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
const randomDomain = (space: number, suffix: string) => `d${Math.floor(random() * space)}.${suffix}.example`;

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.build) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (!existsSync(join(opts.dist, 'app', 'main.js'))) throw new Error(`${opts.dist}/app/main.js is missing: build first`);

  const externalDb = process.env.BENCH_DATABASE_URL;
  if (!externalDb) {
    rmSync(PG_DIR, { recursive: true, force: true });
    rmSync(`${PG_DIR}.password`, { force: true });
  }
  const pgPort = await freePort();
  const pgEnv: Record<string, string> = externalDb
    ? { STORE: 'postgres', DATABASE_URL: externalDb }
    : { STORE: 'postgres', EMBEDDED_PG_DIR: PG_DIR, EMBEDDED_PG_PORT: String(pgPort) };

  const scenarios: Scenario[] = [
    {
      key: 'memory',
      title: 'PUT, STORE=memory, durable',
      env: { STORE: 'memory', ACK_MODE: 'durable' },
      kind: 'put',
      connections: opts.connections,
      space: 10_000_000,
    },
    {
      key: 'memory-auth',
      title: 'PUT, STORE=memory, durable, API key',
      env: { STORE: 'memory', ACK_MODE: 'durable', AUTH: 'keys', API_KEYS: `bench:write:${BENCH_SECRET}` },
      kind: 'put',
      connections: opts.connections,
      space: 10_000_000,
      headers: { authorization: `Bearer ${BENCH_SECRET}` },
    },
    {
      key: 'memory-auth-limit',
      title: 'PUT, STORE=memory, durable, API key + rate limit',
      env: { STORE: 'memory', ACK_MODE: 'durable', AUTH: 'keys', API_KEYS: `bench:write:${BENCH_SECRET}`, RATE_LIMIT_EVENTS_PER_S: '1000000000' },
      kind: 'put',
      connections: opts.connections,
      space: 10_000_000,
      headers: { authorization: `Bearer ${BENCH_SECRET}` },
    },
    {
      key: 'postgres',
      title: 'PUT, STORE=postgres, durable',
      env: { ...pgEnv, ACK_MODE: 'durable' },
      kind: 'put',
      connections: opts.connections,
      space: 10_000_000,
    },
    {
      key: 'ndjson-memory',
      title: 'POST NDJSON ×1000, 10M domains, STORE=memory, durable',
      env: { STORE: 'memory', ACK_MODE: 'durable' },
      kind: 'ndjson',
      connections: opts.ndjsonConnections,
      space: 10_000_000,
    },
    {
      key: 'ndjson',
      title: 'POST NDJSON ×1000, 10M domains, STORE=postgres, durable',
      env: { ...pgEnv, ACK_MODE: 'durable' },
      kind: 'ndjson',
      connections: opts.ndjsonConnections,
      space: 10_000_000,
    },
    {
      key: 'ndjson-zipf',
      title: 'POST NDJSON ×1000, Zipf over 1M domains, STORE=postgres, durable',
      env: { ...pgEnv, ACK_MODE: 'durable' },
      kind: 'ndjson',
      connections: opts.ndjsonConnections,
      space: 1_000_000,
      zipf: true,
    },
    {
      key: 'ndjson-5k',
      title: 'POST NDJSON ×1000, 5k domains, STORE=postgres, durable',
      env: { ...pgEnv, ACK_MODE: 'durable' },
      kind: 'ndjson',
      connections: opts.ndjsonConnections,
      space: 5_000,
    },
    {
      key: 'ndjson-5k-keyed',
      title: 'POST NDJSON ×1000 with an Idempotency-Key each, 5k domains, STORE=postgres',
      env: { ...pgEnv, ACK_MODE: 'durable' },
      kind: 'ndjson',
      connections: opts.ndjsonConnections,
      space: 5_000,
      keyed: true,
    },
  ].filter((s) => opts.only.has(s.key)) as Scenario[];

  const outcomes: Outcome[] = [];
  for (const s of scenarios) {
    process.stderr.write(`\n== ${s.title} (-c ${s.connections}, ${opts.duration} s after ${opts.warmup} s warm-up)\n`);
    outcomes.push(await runScenario(s, opts, !externalDb));
  }
  printReport(outcomes, opts);
}

async function runScenario(s: Scenario, opts: Options, embedded: boolean): Promise<Outcome> {
  const server = await startService({ ...s.env, ...opts.env }, opts);
  try {
    const load = loadOptions(s, server.url);
    if (opts.warmup > 0) await autocannon({ ...load, duration: opts.warmup });

    const pgPids = embedded && s.env.STORE === 'postgres' ? postgresPids(PG_DIR) : [];
    const cpu0 = { server: cpuSeconds([server.child.pid!]), pg: cpuSeconds(pgPids), bench: process.cpuUsage() };
    const before = await scrape(server.url);
    const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    const started = Date.now();
    const result = await new Promise<autocannon.Result>((resolveRun, rejectRun) => {
      const instance = autocannon({ ...load, duration: opts.duration }, (err, res) =>
        err ? rejectRun(err) : resolveRun(res),
      );
      instance.on('response', (_client, _status, _bytes, responseTime) => {
        histogram.recordValue(Math.max(1, Math.round(responseTime * 1000))); // µs
      });
    });
    const wall = (Date.now() - started) / 1000;
    const after = await scrape(server.url);
    const benchUsage = process.cpuUsage(cpu0.bench);
    const serverCpu = (cpuSeconds([server.child.pid!]) - cpu0.server) / wall;
    const pgCpu = pgPids.length ? (cpuSeconds(postgresPids(PG_DIR)) - cpu0.pg) / wall : undefined;

    const eventsPerRequest = s.kind === 'ndjson' ? 1000 : 1;
    const ok = result['2xx'];
    const flushes = delta(before, after, 'catchall_flushes_total{result="ok"}');
    const flushedEvents = delta(before, after, 'catchall_flushed_events_total');
    const flushedDomains = delta(before, after, 'catchall_flush_domains_sum');
    const outcome: Outcome = {
      scenario: s,
      requestsPerS: ok / wall,
      eventsPerS: (ok * eventsPerRequest) / wall,
      p50: histogram.getValueAtPercentile(50) / 1000,
      p95: histogram.getValueAtPercentile(95) / 1000,
      p99: histogram.getValueAtPercentile(99) / 1000,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      serverCpu,
      pgCpu,
      benchCpu: (benchUsage.user + benchUsage.system) / 1e6 / wall,
      eventsPerFlush: flushes > 0 ? flushedEvents / flushes : undefined,
      domainsPerFlush: flushes > 0 ? flushedDomains / flushes : undefined,
      commitP50: s.env.STORE === 'postgres' ? commitMedian(before, after) : undefined,
      commitMean: s.env.STORE === 'postgres' ? commitMean(before, after) : undefined,
    };
    process.stderr.write(
      `   ${fmt(outcome.eventsPerS)} events/s, p50 ${outcome.p50.toFixed(2)} ms, p95 ${outcome.p95.toFixed(2)} ms, ` +
        `non-2xx ${outcome.non2xx}, errors ${outcome.errors}\n`,
    );
    return outcome;
  } finally {
    await server.stop();
  }
}

function loadOptions(s: Scenario, url: string): autocannon.Options {
  if (s.kind === 'put') {
    return {
      url,
      connections: s.connections,
      headers: s.headers,
      requests: [
        { method: 'PUT', setupRequest: (req) => ({ ...req, path: `/events/${randomDomain(s.space, 'put')}/delivered` }) },
      ],
    };
  }
  // Bodies are generated before the run, so the load generator only sends them.
  // Enough of them that a large name space stays large: 2,048 bodies hold about
  // 2M names, more than a 10 s run sends, so nearly every event of the 10M case
  // is a new row.
  const draw = s.zipf ? zipfSampler(s.space) : () => Math.floor(random() * s.space);
  const bodies = Array.from({ length: Math.min(2048, Math.max(64, Math.ceil(s.space / 1000))) }, () => {
    const lines: string[] = [];
    for (let i = 0; i < 1000; i++) {
      lines.push(`{"domain":"d${draw()}.${s.key}.example","type":"${random() < 0.05 ? 'bounced' : 'delivered'}"}`);
    }
    return lines.join('\n');
  });
  let next = 0;
  const runId = `${s.key}-${Date.now()}`;
  return {
    url,
    connections: s.connections,
    requests: [
      {
        method: 'POST',
        path: '/events',
        headers: { 'content-type': 'application/x-ndjson' },
        setupRequest: (req) => {
          const n = next++;
          const body = bodies[n % bodies.length];
          return s.keyed ? { ...req, body, headers: { ...req.headers, 'idempotency-key': `${runId}-${n}` } } : { ...req, body };
        },
      },
    ],
  };
}

/** Draws ranks 0..n-1 with probability proportional to 1/(rank+1): a few domains get most of the traffic. */
function zipfSampler(n: number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1);
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

interface Service {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function startService(env: Record<string, string>, opts: Options): Promise<Service> {
  // A port chosen here and /health/live polled: the "listening on" line is
  // logged at info, below the LOG_LEVEL the bench runs the service with.
  const port = await freePort();
  const child = spawn(process.execPath, [...opts.nodeArgs, join(opts.dist, 'app', 'main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      OTEL_SDK_DISABLED: 'true',
      NODE_ENV: 'production',
      AUTH: 'none',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited (${child.exitCode}):\n${output}`);
    const live = await fetch(`${url}/health/live`).catch(() => undefined);
    if (live?.ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the service did not start:\n${output}`);
    }
    await sleep(100);
  }
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000)]);
    },
  };
}

/** The service's own Prometheus series (flush sizes, commit latency). */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

function delta(a: Map<string, number>, b: Map<string, number>, key: string): number {
  return (b.get(key) ?? 0) - (a.get(key) ?? 0);
}

function commitMean(a: Map<string, number>, b: Map<string, number>): number | undefined {
  const series = (name: string) => `catchall_store_statement_duration_seconds_${name}{statement="upsert",result="ok"}`;
  const count = delta(a, b, series('count'));
  return count > 0 ? (delta(a, b, series('sum')) / count) * 1000 : undefined;
}

/** Median upsert latency during the run, from the store's histogram buckets. */
function commitMedian(a: Map<string, number>, b: Map<string, number>): string | undefined {
  const prefix = 'catchall_store_statement_duration_seconds_bucket{le="';
  const buckets: Array<[string, number]> = [];
  for (const [k, v] of b) {
    if (k.startsWith(prefix) && k.includes('statement="upsert",result="ok"')) {
      buckets.push([k.slice(prefix.length, k.indexOf('"', prefix.length)), v - (a.get(k) ?? 0)]);
    }
  }
  const total = buckets.find(([le]) => le === '+Inf')?.[1] ?? 0;
  if (total === 0) return undefined;
  const median = buckets.find(([, count]) => count >= total / 2);
  return median ? `≤ ${Number(median[0]) * 1000} ms` : undefined;
}

/** utime + stime of processes, in seconds (Linux /proc). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }
  return ticks / CLOCK_TICKS;
}

/** The postmaster of a data directory and its children. */
function postgresPids(dataDir: string): number[] {
  try {
    const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const pids = [postmaster];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
        if (ppid === postmaster) pids.push(Number(entry));
      } catch {
        // exited
      }
    }
    return pids;
  } catch {
    return [];
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function printReport(outcomes: Outcome[], opts: Options): void {
  const memory = outcomes.find((o) => o.scenario.key === 'memory');
  const ndjsonMemory = outcomes.find((o) => o.scenario.key === 'ndjson-memory');
  const lines = [
    `Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ` +
      `load generator (autocannon) on the same machine; ${opts.duration} s per scenario after ${opts.warmup} s warm-up` +
      (Object.keys(opts.env).length ? `; service settings ${JSON.stringify(opts.env)}` : '') +
      '.',
    '',
    '| scenario | conns | events/s | requests/s | p50 ms | p95 ms | p99 ms | non-2xx | vs memory | events/flush | upsert p50 | upsert mean ms | CPU server / PG / loadgen |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const o of outcomes) {
    const base = o.scenario.kind === 'put' ? memory : ndjsonMemory;
    const vsMemory = base && o !== base ? `${Math.round((o.eventsPerS / base.eventsPerS) * 100)}%` : '';
    lines.push(
      `| ${o.scenario.title} | ${o.scenario.connections} | ${fmt(o.eventsPerS)} | ${fmt(o.requestsPerS)} | ` +
        `${o.p50.toFixed(2)} | ${o.p95.toFixed(2)} | ${o.p99.toFixed(2)} | ${o.non2xx + o.errors} | ${vsMemory} | ` +
        `${o.eventsPerFlush ? fmt(o.eventsPerFlush) : ''} | ${o.commitP50 ?? ''} | ${o.commitMean?.toFixed(2) ?? ''} | ` +
        `${pct(o.serverCpu)} / ${o.pgCpu === undefined ? '–' : pct(o.pgCpu)} / ${pct(o.benchCpu)} |`,
    );
  }
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

function pct(coreShare: number): string {
  return `${Math.round(coreShare * 100)}%`;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
