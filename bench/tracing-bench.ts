// What tracing costs: throughput of the compiled service with tracing off
// (OTEL_SDK_DISABLED=true) against the default tracing settings, in the same
// run, rounds interleaved so that drift (thermal, other load) hits every
// variant alike. The server is a child process (`node dist/app/main.js`,
// STORE=memory); the load generator (autocannon) runs here, on the same box.
//
//   npx tsx bench/tracing-bench.ts [--duration 10] [--rounds 3] [--warmup 2] [--connections 100] [--no-build]
//     [--variants off,prod,full,fastify-otel,dev]
//
// Variants: "off"; "production defaults" (NODE_ENV=production: 1% sampled,
// TRACES_DETAIL=basic, OTLP export to the default http://localhost:4318, where
// nothing listens here); the same with TRACES_DETAIL=full (database and cache
// spans: the active context follows awaits); "development defaults" (NODE_ENV
// unset: every trace sampled into the trace page buffer, at most 100 new
// traces a second, no export); and, asked for by name (it needs
// `npm install --no-save @fastify/otel`), "fastify-otel": the maintained
// @fastify/otel instrumentation instead of the hand-written hooks, on the
// AsyncLocalStorage context manager (bench/fastify-otel-entry.js). Besides throughput it reports the
// server's user-mode CPU time per request (from /proc), which other load on
// the box disturbs much less than throughput. Prints a Markdown section for
// docs/benchmarks.md.
import autocannon from 'autocannon';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

interface Variant {
  key: string;
  name: string;
  env: Record<string, string>;
  /** The script the server runs (default: the service's own main). */
  entry?: string;
}

const ALL_VARIANTS: Variant[] = [
  { key: 'off', name: 'tracing off', env: { OTEL_SDK_DISABLED: 'true', NODE_ENV: 'production' } },
  { key: 'prod', name: 'production defaults', env: { NODE_ENV: 'production' } },
  { key: 'full', name: 'production, TRACES_DETAIL=full', env: { NODE_ENV: 'production', TRACES_DETAIL: 'full' } },
  {
    // The maintained instrumentation on the standard AsyncLocalStorage context
    // manager (which TRACES_DETAIL=full selects), otherwise production defaults.
    key: 'fastify-otel',
    name: '@fastify/otel + AsyncLocalStorage, production',
    env: { NODE_ENV: 'production', TRACES_DETAIL: 'full' },
    entry: 'bench/fastify-otel-entry.js',
  },
  { key: 'dev', name: 'development defaults', env: {} },
];

interface Workload {
  name: string;
  method: 'PUT' | 'GET';
  path: (i: number) => string;
}

const DOMAINS = 10_000;
const WORKLOADS: Workload[] = [
  { name: 'PUT /events/{domain}/delivered (durable)', method: 'PUT', path: (i) => `/events/d${i % DOMAINS}.bench.com/delivered` },
  { name: 'GET /domains/{domain}', method: 'GET', path: (i) => `/domains/d${i % DOMAINS}.bench.com` },
];

const root = join(__dirname, '..');
const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : Number(args[i + 1]);
};
const DURATION_S = arg('duration', 10);
const ROUNDS = arg('rounds', 3);
const CONNECTIONS = arg('connections', 100);
const WARMUP_S = arg('warmup', 2);
const only = args.indexOf('--variants');
const VARIANTS =
  only === -1 ? ALL_VARIANTS.filter((v) => v.key !== 'fastify-otel') : ALL_VARIANTS.filter((v) => args[only + 1].split(',').includes(v.key));

async function startServer(v: Variant): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [v.entry ?? 'dist/app/main.js'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      STORE: 'memory',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      AUTH: 'none', // NODE_ENV=production refuses to start open otherwise
      ...v.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], child });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}):\n${out}`)));
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function load(url: string, w: Workload, seconds: number): Promise<autocannon.Result> {
  let i = 0;
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: w.method,
        setupRequest: (req) => ({ ...req, path: w.path(i++) }),
      },
    ],
  });
}

/**
 * User-mode CPU time of a process in microseconds, from /proc (Linux); NaN
 * elsewhere. Tracing costs user-mode JavaScript; kernel time (socket writes)
 * swings with whatever else runs on the box, so it is left out.
 */
function cpuMicros(pid: number | undefined): number {
  const file = `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(file)) return NaN;
  const fields = readFileSync(file, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) * 1e6) / 100; // utime, in USER_HZ (100) ticks
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  if (!args.includes('--no-build')) {
    console.error('building: npx tsc -p tsconfig.build.json');
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  }
  // rps[workload][variant] = one figure per round; p99 likewise.
  const rps = WORKLOADS.map(() => VARIANTS.map(() => [] as number[]));
  const p99 = WORKLOADS.map(() => VARIANTS.map(() => [] as number[]));
  const cpu = WORKLOADS.map(() => VARIANTS.map(() => [] as number[]));
  const errors = WORKLOADS.map(() => VARIANTS.map(() => 0));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no variant always runs first.
    for (let k = 0; k < VARIANTS.length; k++) {
      const vi = (k + round) % VARIANTS.length;
      const v = VARIANTS[vi];
      const { url, child } = await startServer(v);
      try {
        for (let wi = 0; wi < WORKLOADS.length; wi++) {
          await load(url, WORKLOADS[wi], WARMUP_S);
          const cpuBefore = cpuMicros(child.pid);
          const r = await load(url, WORKLOADS[wi], DURATION_S);
          const perRequest = (cpuMicros(child.pid) - cpuBefore) / r.requests.total;
          cpu[wi][vi].push(perRequest);
          rps[wi][vi].push(r.requests.average);
          p99[wi][vi].push(r.latency.p99);
          errors[wi][vi] += r.errors + r.timeouts + (r.non2xx ?? 0);
          console.error(
            `round ${round + 1}/${ROUNDS}  ${v.name.padEnd(32)} ${WORKLOADS[wi].method}  ${Math.round(r.requests.average)} req/s  p99 ${r.latency.p99} ms  ${perRequest.toFixed(1)} µs user CPU/req`,
          );
        }
      } finally {
        await stopServer(child);
      }
    }
  }

  const lines: string[] = [];
  lines.push('## Tracing overhead (bench/tracing-bench.ts)');
  lines.push('');
  lines.push(
    `${new Date().toISOString().slice(0, 10)}, Node ${process.versions.node}, ${cpus().length} cores shared with the load generator; ` +
      `autocannon ${CONNECTIONS} connections, ${DURATION_S} s per run after ${WARMUP_S} s warm-up, ${ROUNDS} interleaved rounds, ` +
      `STORE=memory, ACK_MODE=durable, ${DOMAINS} distinct domains. "best" is the least disturbed run ` +
      `(highest throughput, lowest CPU), the fairest figure on a shared box.`,
  );
  for (let wi = 0; wi < WORKLOADS.length; wi++) {
    lines.push('');
    lines.push(`**${WORKLOADS[wi].name}**`);
    lines.push('');
    lines.push(
      '| variant | req/s median | req/s best | throughput cost (median / best) | user CPU µs/req median | min | CPU cost (median / min) | p99 ms | errors |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    const pct = (v: number, base: number) => `${(((v - base) / base) * 100).toFixed(1)} %`;
    const [baseMedian, baseBest] = [median(rps[wi][0]), Math.max(...rps[wi][0])];
    const [cpuMedian, cpuMin] = [median(cpu[wi][0]), Math.min(...cpu[wi][0])];
    for (let vi = 0; vi < VARIANTS.length; vi++) {
      const [m, best] = [median(rps[wi][vi]), Math.max(...rps[wi][vi])];
      const [c, cmin] = [median(cpu[wi][vi]), Math.min(...cpu[wi][vi])];
      const loss = (base: number, v: number) => `${(((base - v) / base) * 100).toFixed(1)} %`;
      const cost = vi === 0 ? '—' : `${loss(baseMedian, m)} / ${loss(baseBest, best)}`;
      const cpuCost = vi === 0 ? '—' : `${pct(c, cpuMedian)} / ${pct(cmin, cpuMin)}`;
      lines.push(
        `| ${VARIANTS[vi].name} | ${Math.round(m)} | ${Math.round(best)} | ${cost} | ${c.toFixed(1)} | ${cmin.toFixed(1)} | ${cpuCost} | ${median(p99[wi][vi])} | ${errors[wi][vi]} |`,
      );
    }
  }
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
