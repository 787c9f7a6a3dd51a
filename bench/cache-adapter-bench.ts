// Benchmark: the Redis status cache adapter alone (no HTTP, no store), on one
// redis-server and on a three-master Redis Cluster, optionally against an older
// build of the adapter on the same redis-server, interleaved in one run:
//   round 1: baseline, single, cluster; round 2: the same; …
// Each op runs for --seconds with --concurrency callers in flight:
//   get1    getMany of 1 domain (a GET /domains/{d}; auto-pipelined on one Redis)
//   get100  getMany of 100 domains (a POST /domains/lookup of 100)
//   merge   merge of a flush's 1000 rows (the write-through after a flush)
// The cache is filled with --domains entries first, so reads are hits.
//
//   npx tsx bench/cache-adapter-bench.ts [--baseline DIR] [--rounds 3] [--seconds 3]
//     [--concurrency 64] [--domains 100000] [--no-cluster]
//
// DIR is another checkout of the project (e.g. `git archive <commit> | tar -x -C DIR`
// with node_modules linked in); its adapter is loaded from DIR/business/….
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { RedisStatusCache } from '../business/adapters/redis-cache/redis-status-cache.adapter';
import { DomainCounts } from '../business/models';
import { TestRedis } from '../test/support/redis';
import { TestRedisCluster } from '../test/support/redis-cluster';

interface Options {
  baseline?: string;
  rounds: number;
  seconds: number;
  concurrency: number;
  domains: number;
  cluster: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { rounds: 3, seconds: 3, concurrency: 64, domains: 100_000, cluster: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--baseline') opts.baseline = resolve(argv[++i]);
    else if (a === '--rounds') opts.rounds = Number(argv[++i]);
    else if (a === '--seconds') opts.seconds = Number(argv[++i]);
    else if (a === '--concurrency') opts.concurrency = Number(argv[++i]);
    else if (a === '--domains') opts.domains = Number(argv[++i]);
    else if (a === '--no-cluster') opts.cluster = false;
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

type Cache = Pick<RedisStatusCache, 'getMany' | 'merge' | 'connected' | 'close'>;
type CacheClass = new (opts: ConstructorParameters<typeof RedisStatusCache>[0]) => Cache;

const domainOf = (i: number) => `d${i}.bench.example`;
const OPS = ['get1', 'get100', 'merge'] as const;

/** Runs `op` with `concurrency` callers for `seconds`; returns calls per second. */
async function measure(seconds: number, concurrency: number, op: () => Promise<unknown>): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let calls = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await op();
        calls++;
      }
    }),
  );
  return calls / ((performance.now() - started) / 1000);
}

async function fill(cache: Cache, domains: number): Promise<string> {
  const { generation } = await cache.getMany([]);
  for (let start = 0; start < domains; start += 1000) {
    const rows: DomainCounts[] = [];
    for (let i = start; i < Math.min(domains, start + 1000); i++) rows.push({ name: domainOf(i), delivered: i, bounced: i % 10 === 0 ? 1 : 0 });
    const result = await cache.merge(rows, generation);
    if (!result.merged) throw new Error('fill was refused');
  }
  return generation;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const variants: Array<{ label: string; make: () => Cache }> = [];
  const redis = await TestRedis.start();
  const cluster = opts.cluster ? await TestRedisCluster.start() : undefined;
  const common = { ttlSeconds: 3600, timeoutMs: 1000 };
  if (opts.baseline) {
    const mod = (await import(join(opts.baseline, 'business/adapters/redis-cache/redis-status-cache.adapter.ts'))) as { RedisStatusCache: CacheClass };
    const Baseline = mod.RedisStatusCache;
    variants.push({ label: 'one Redis, baseline build', make: () => new Baseline({ url: redis.url, ...common }) });
  }
  variants.push({ label: 'one Redis, this build', make: () => new RedisStatusCache({ url: redis.url, ...common }) });
  if (cluster) variants.push({ label: 'Redis Cluster (3 masters), this build', make: () => new RedisStatusCache({ clusterNodes: cluster.nodes, ...common }) });

  const results = new Map<string, number[]>();
  const random = () => domainOf(Math.floor(Math.random() * opts.domains));
  try {
    for (let round = 0; round < opts.rounds; round++) {
      for (const variant of variants) {
        await redis.restart();
        await cluster?.flushAll();
        const cache = variant.make();
        try {
          if (!(await cache.connected(5000))) throw new Error(`${variant.label}: not connected`);
          const generation = await fill(cache, opts.domains);
          let seq = 0;
          const ops: Record<(typeof OPS)[number], () => Promise<unknown>> = {
            get1: () => cache.getMany([random()]),
            get100: () => cache.getMany(Array.from({ length: 100 }, random)),
            merge: () => {
              const base = (seq++ * 1000) % opts.domains;
              const rows = Array.from({ length: 1000 }, (_, i) => ({ name: domainOf((base + i) % opts.domains), delivered: opts.domains + seq, bounced: 0 }));
              return cache.merge(rows, generation);
            },
          };
          for (const op of OPS) {
            const concurrency = op === 'merge' ? 4 : opts.concurrency;
            const rate = await measure(opts.seconds, concurrency, ops[op]);
            const key = `${variant.label}|${op}`;
            results.set(key, [...(results.get(key) ?? []), rate]);
            console.log(`round ${round + 1} ${variant.label} ${op}: ${Math.round(rate).toLocaleString('en')} calls/s`);
          }
        } finally {
          await cache.close();
        }
      }
    }
  } finally {
    await redis.stop();
    await cluster?.destroy();
  }
  const cpu = cpus();
  const range = (xs: number[]) => `${Math.round(Math.min(...xs)).toLocaleString('en')}–${Math.round(Math.max(...xs)).toLocaleString('en')}`;
  console.log(`
### Results (${new Date().toISOString().slice(0, 10)})

${cpu.length} × ${cpu[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${opts.rounds} interleaved rounds × ${opts.seconds} s per op;
${opts.domains.toLocaleString('en')} cached domains; get: ${opts.concurrency} callers in flight, merge: 4. Calls per second, lowest–highest round.

| adapter | getMany(1) | getMany(100) | merge(1000 rows) |
|---|---:|---:|---:|
${variants.map((v) => `| ${v.label} | ${OPS.map((op) => range(results.get(`${v.label}|${op}`)!)).join(' | ')} |`).join('\n')}
`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
