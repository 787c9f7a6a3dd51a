// A/B of the edges on the PUT path, interleaved finely: every variant runs as
// its own service at once (memory store, durable acks), and autocannon drives
// them in turn for short rounds, so a busy shared box weighs on all alike.
// Variants: a baseline build (--base DIST, e.g. the commit before the edges),
// this build open, with an API key, with a key and a rate limit that never
// trips, and (--no-headers DIST) this build without the security headers.
//   npx tsx bench/edges-ab.ts --base /tmp/base/dist [--no-headers dist-noheaders] [--rounds 6] [--seconds 5]
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const SECRET = 'bench-secret-0123456789abcdef';
const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const rounds = Number(arg('rounds') ?? 6);
const seconds = Number(arg('seconds') ?? 5);

interface Variant {
  name: string;
  dist: string;
  env: Record<string, string>;
  headers?: Record<string, string>;
}

const keyed = { AUTH: 'keys', API_KEYS: `bench:write:${SECRET}` };
const bearer = { authorization: `Bearer ${SECRET}` };
const variants: Variant[] = [
  ...(arg('base') ? [{ name: 'baseline build (no edges)', dist: resolve(arg('base')!), env: {} }] : []),
  { name: 'edges, open (AUTH=none)', dist: join(ROOT, 'dist'), env: { AUTH: 'none' } },
  ...(arg('no-headers') ? [{ name: 'edges, open, without security headers', dist: resolve(arg('no-headers')!), env: { AUTH: 'none' } }] : []),
  { name: 'edges, API key', dist: join(ROOT, 'dist'), env: keyed, headers: bearer },
  { name: 'edges, API key + rate limit', dist: join(ROOT, 'dist'), env: { ...keyed, RATE_LIMIT_EVENTS_PER_S: '1000000000' }, headers: bearer },
];

function start(v: Variant): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(v.dist, 'app', 'main.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', STORE: 'memory', ACK_MODE: 'durable', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true', NODE_ENV: 'production', ...v.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${v.name} did not start: ${out}`)), 60_000);
    const check = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res({ url: m[1], child });
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.on('exit', (code) => rej(new Error(`${v.name} exited (${code}): ${out}`)));
  });
}

let n = 0;
function load(url: string, headers: Record<string, string> | undefined, duration: number): Promise<autocannon.Result> {
  return new Promise((res, rej) =>
    autocannon(
      { url, connections: 64, duration, headers, requests: [{ method: 'PUT', setupRequest: (r) => ({ ...r, path: `/events/d${n++ % 1_000_000}.ab.example/delivered` }) }] },
      (err, r) => (err ? rej(err) : res(r)),
    ),
  );
}

async function main(): Promise<void> {
  const servers = [];
  for (const v of variants) servers.push(await start(v));
  const rates = variants.map(() => [] as number[]);
  try {
    for (let i = 0; i < variants.length; i++) await load(servers[i].url, variants[i].headers, 2); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < variants.length; i++) {
        const result = await load(servers[i].url, variants[i].headers, seconds);
        if (result.non2xx || result.errors) throw new Error(`${variants[i].name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
        rates[i].push(result.requests.average);
        process.stderr.write(`round ${r + 1} ${variants[i].name}: ${Math.round(result.requests.average)} req/s\n`);
      }
    }
  } finally {
    for (const s of servers) s.child.kill('SIGKILL');
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(rates[0]);
  console.log(`| variant | PUT req/s, median of ${rounds} × ${seconds} s | range | vs first |\n|---|---:|---|---:|`);
  variants.forEach((v, i) => {
    const m = median(rates[i]);
    console.log(`| ${v.name} | ${Math.round(m).toLocaleString('en-US')} | ${Math.round(Math.min(...rates[i])).toLocaleString('en-US')}–${Math.round(Math.max(...rates[i])).toLocaleString('en-US')} | ${Math.round((m / base) * 100)}% |`);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
