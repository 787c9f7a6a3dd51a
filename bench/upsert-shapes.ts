// Benchmark: the flush upsert's statement shapes, on plain PostgreSQL and on a
// 3-node Citus cluster (coordinator + 2 workers, `domains` distributed by name,
// `flush_fences` by node), in the same run, interleaved. Each flush
// is what the postgres store sends: a fence advance plus an upsert of N sorted
// rows (about half new domains, half existing ones), in one transaction.
//
// Shapes:
//   cte-unnest   one statement: WITH fence AS (UPDATE flush_fences …) INSERT …
//                SELECT FROM fence, unnest($1,$2,$3) ON CONFLICT …  (Citus pulls
//                the SELECT to the coordinator, then pushes the rows to the shards)
//   txn-unnest   BEGIN; fence UPDATE; INSERT … SELECT FROM unnest(…) …; COMMIT
//   txn-values   BEGIN; fence UPDATE; INSERT … VALUES ($1,$2,$3),(…),… …; COMMIT
//                (Citus splits the VALUES by shard at the coordinator and runs one
//                INSERT per shard, in parallel across the workers)
//
// Citus engines: "citus" is the test cluster as configured (8 shards,
// citus.max_cached_conns_per_worker = 16, test/support/citus.ts);
// "citus-32-shards" distributes with Citus's default of 32 shards;
// "citus-defaults" also keeps Citus's default of one cached connection per
// worker; "citus-fence-reference" makes flush_fences a reference table (as
// the first design did). The txn-* shapes run on postgres and citus only.
// Then: latency of 100-row flushes, and 4 connections flushing at once.
//
//   flock /tmp/catchall-bench.lock npx tsx bench/upsert-shapes.ts [--rows 10000] [--rounds 8] [--pool 200000]
//
// Servers are the tests' throwaway ones (test/support), fsync off: this
// measures statement execution, not the disk.
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startTestCitus, TestCitus } from '../test/support/citus';
import { startTestPostgres, TEST_DATA_DIR, TestPostgres } from '../test/support/postgres';
import { MIGRATIONS } from '../migrations';
import { createPostgresDataSource } from '../business/adapters/postgres/data-source';
import { migrateUp } from '../business/adapters/postgres/migrate';
import { toTextArray } from '../business/adapters/postgres/postgres-counter-store.adapter';

interface Options {
  rows: number;
  rounds: number;
  pool: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { rows: 10_000, rounds: 8, pool: 200_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rows') opts.rows = Number(argv[++i]);
    else if (a === '--rounds') opts.rounds = Number(argv[++i]);
    else if (a === '--pool') opts.pool = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

type Batch = { names: string[]; delivered: number[]; bounced: number[] };
type Shape = (c: Client, node: string, seq: number, b: Batch) => Promise<number>;

const SET = `ON CONFLICT (name) DO UPDATE
SET delivered = domains.delivered + EXCLUDED.delivered,
    bounced = domains.bounced + EXCLUDED.bounced,
    updated_at = EXCLUDED.updated_at`;

const FENCE = 'UPDATE flush_fences SET seq = $2::bigint, fenced = false, updated_at = now() WHERE node = $1 AND seq = $2::bigint - 1';

const arrays = (b: Batch) => [toTextArray(b.names), `{${b.delivered.join(',')}}`, `{${b.bounced.join(',')}}`];

const SHAPES: Record<string, Shape> = {
  'cte-unnest': async (c, node, seq, b) => {
    const r = await c.query({
      name: 'cte_unnest',
      text: `WITH fence AS (
  UPDATE flush_fences SET seq = $5::bigint, fenced = false, updated_at = now()
  WHERE node = $4 AND seq = $5::bigint - 1 RETURNING 1)
INSERT INTO domains (name, delivered, bounced)
SELECT d.name, d.delivered, d.bounced
FROM fence, unnest($1::text[], $2::bigint[], $3::bigint[]) AS d(name, delivered, bounced)
${SET}`,
      values: [...arrays(b), node, seq],
    });
    return r.rowCount ?? 0;
  },
  'txn-unnest': (c, node, seq, b) =>
    inTransaction(c, node, seq, async () => {
      const r = await c.query({
        name: 'txn_unnest',
        text: `INSERT INTO domains (name, delivered, bounced)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) ${SET}`,
        values: arrays(b),
      });
      return r.rowCount ?? 0;
    }),
  'txn-values': (c, node, seq, b) =>
    inTransaction(c, node, seq, async () => {
      const n = b.names.length;
      const tuples = new Array<string>(n);
      const values = new Array<unknown>(n * 3);
      for (let i = 0; i < n; i++) {
        tuples[i] = `($${i * 3 + 1},$${i * 3 + 2}::bigint,$${i * 3 + 3}::bigint)`;
        values[i * 3] = b.names[i];
        values[i * 3 + 1] = b.delivered[i];
        values[i * 3 + 2] = b.bounced[i];
      }
      const r = await c.query({ text: `INSERT INTO domains (name, delivered, bounced) VALUES ${tuples.join(',')} ${SET}`, values });
      return r.rowCount ?? 0;
    }),
};

async function inTransaction(c: Client, node: string, seq: number, body: () => Promise<number>): Promise<number> {
  await c.query('BEGIN');
  try {
    const fence = await c.query({ name: 'fence', text: FENCE, values: [node, seq] });
    if (fence.rowCount !== 1) throw new Error('fence refused');
    const n = await body();
    await c.query('COMMIT');
    return n;
  } catch (err) {
    await c.query('ROLLBACK');
    throw err;
  }
}

/** A deterministic random generator (the same batches on every engine). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function makeBatch(rand: () => number, rows: number, pool: number): Batch {
  const picked = new Set<number>();
  while (picked.size < rows) picked.add(Math.floor(rand() * pool));
  const names = [...picked].map((i) => `d${i}.shape-bench.example`).sort();
  return { names, delivered: names.map((_, i) => 1 + (i % 5)), bounced: names.map((_, i) => (i % 7 === 0 ? 1 : 0)) };
}

interface Engine {
  name: string;
  url: string;
  /** Session settings of every connection (Citus GUCs). */
  options?: string;
  client: Client;
  lanes: number;
  seq: number;
  expected: { delivered: number; bounced: number };
}

async function openEngine(name: string, url: string, setup: string[] = [], options?: string, after: string[] = []): Promise<Engine> {
  const ds = createPostgresDataSource({ url, poolSize: 1, migrations: MIGRATIONS });
  await ds.initialize();
  for (const sql of setup) await ds.query(sql); // same connection as the migrations (pool of one)
  await migrateUp(ds);
  for (const sql of after) await ds.query(sql);
  await ds.destroy();
  const client = new Client({ connectionString: url, options });
  await client.connect();
  await client.query("INSERT INTO flush_fences (node, seq) VALUES ('bench', 0)");
  return { name, url, options, client, lanes: 0, seq: 0, expected: { delivered: 0, bounced: 0 } };
}

function record(e: Engine, b: Batch): void {
  for (let i = 0; i < b.names.length; i++) {
    e.expected.delivered += b.delivered[i];
    e.expected.bounced += b.bounced[i];
  }
}

function summary(values: number[], fmt: (v: number) => string): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${fmt(sorted[Math.floor(sorted.length / 2)])} | ${fmt(sorted[0])}–${fmt(sorted[sorted.length - 1])}`;
}

const perSecond = (v: number) => `${(v / 1000).toFixed(1)}k`;
const millis = (v: number) => `${v.toFixed(1)} ms`;

/**
 * CPU time (ms) used so far by each PostgreSQL server this process started:
 * its postmaster, its live backends and the backends that exited (their time
 * is added to the postmaster's cutime/cstime when it reaps them). Keyed by
 * role: postgres, coordinator, worker0, worker1. Linux /proc; 100 ticks a second.
 */
function serverCpuMs(): Map<string, number> {
  const servers = new Map<number, string>();
  for (const dir of readdirSync(TEST_DATA_DIR)) {
    const m = new RegExp(`^pg-${process.pid}-\\d+(?:-citus-(\\w+))?$`).exec(dir);
    if (!m) continue;
    try {
      const pid = Number(readFileSync(join(TEST_DATA_DIR, dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      servers.set(pid, m[1] ?? 'postgres');
    } catch {
      // not running
    }
  }
  const out = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    const role = servers.get(pid) ?? servers.get(Number(f[1]));
    if (!role) continue;
    let ticks = Number(f[11]) + Number(f[12]);
    if (servers.has(pid)) ticks += Number(f[13]) + Number(f[14]);
    out.set(role, (out.get(role) ?? 0) + ticks * 10);
  }
  return out;
}

/** Phase 1: one flush of opts.rows rows at a time, each shape in turn (order rotated every round). */
async function shapes(engines: Engine[], opts: Options): Promise<void> {
  const rand = prng(7);
  const results = new Map<string, number[]>();
  // CPU of each server role per engine, for the store's shape (cte-unnest).
  const cpu = new Map<string, { rows: number; ms: Map<string, number> }>();
  for (let round = 0; round <= opts.rounds; round++) {
    const names = Object.keys(SHAPES);
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const shape of order) {
      const batch = makeBatch(rand, opts.rows, opts.pool);
      for (const e of engines) {
        if (shape !== 'cte-unnest' && e.name !== 'postgres' && e.name !== 'citus') continue;
        const cpuBefore = serverCpuMs();
        const started = performance.now();
        const n = await SHAPES[shape](e.client, 'bench', ++e.seq, batch);
        const ms = performance.now() - started;
        if (n !== batch.names.length) throw new Error(`${shape} on ${e.name} wrote ${n} rows of ${batch.names.length}`);
        record(e, batch);
        if (round > 0 && shape === 'cte-unnest') {
          const used = cpu.get(e.name) ?? { rows: 0, ms: new Map<string, number>() };
          for (const [role, after] of serverCpuMs()) used.ms.set(role, (used.ms.get(role) ?? 0) + after - (cpuBefore.get(role) ?? 0));
          used.rows += n;
          cpu.set(e.name, used);
        }
        // Round 0 warms up (and inserts most new rows); it is not counted.
        if (round > 0) results.set(`${e.name}|${shape}`, [...(results.get(`${e.name}|${shape}`) ?? []), (n / ms) * 1000]);
      }
    }
  }
  console.log(`\n${opts.rows}-row flushes, one at a time (rows/s)\n\n| engine | shape | median | range |\n|---|---|---|---|`);
  for (const [key, rates] of results) console.log(`| ${key.split('|').join(' | ')} | ${summary(rates, perSecond)} |`);
  console.log(
    `\nServer CPU per 1,000 rows, cte-unnest ${opts.rows}-row flushes (ms; the servers of the other engine idle meanwhile)\n\n` +
      '| engine | postgres / coordinator | worker0 | worker1 | total |\n|---|---|---|---|---|',
  );
  for (const [name, used] of cpu) {
    const per = (role: string) => ((used.ms.get(role) ?? 0) / used.rows) * 1000;
    const main = name === 'postgres' ? per('postgres') : per('coordinator');
    const workers = name === 'postgres' ? [0, 0] : [per('worker0'), per('worker1')];
    const cell = (v: number) => v.toFixed(1);
    console.log(`| ${name} | ${cell(main)} | ${cell(workers[0])} | ${cell(workers[1])} | ${cell(main + workers[0] + workers[1])} |`);
  }
}

/**
 * Phase 2: latency of small flushes (100 rows: what durable single PUTs
 * produce), the store's shape. Not on citus-defaults: its new connections to
 * the workers for every flush (backends starting and exiting) slowed whichever
 * engine came next. The order rotates each round.
 */
async function smallFlushes(engines: Engine[], opts: Options): Promise<void> {
  const rand = prng(11);
  const times = new Map<string, number[]>();
  const measured = engines.filter((e) => e.name !== 'citus-defaults');
  for (let i = 0; i < 40; i++) {
    const batch = makeBatch(rand, 100, opts.pool);
    for (let j = 0; j < measured.length; j++) {
      const e = measured[(i + j) % measured.length];
      const started = performance.now();
      await SHAPES['cte-unnest'](e.client, 'bench', ++e.seq, batch);
      if (i >= 5) times.set(e.name, [...(times.get(e.name) ?? []), performance.now() - started]);
      record(e, batch);
    }
  }
  console.log('\n100-row flushes, one at a time, cte-unnest (latency)\n\n| engine | median | range |\n|---|---|---|');
  for (const [name, t] of times) console.log(`| ${name} | ${summary(t, millis)} |`);
}

/** Phase 3: `clients` connections flushing at once (overlapping names, as several nodes do), for `seconds`. */
async function concurrent(engines: Engine[], opts: Options, clients: number, seconds: number): Promise<void> {
  console.log(`\n${clients} connections flushing ${opts.rows / 5}-row batches at once for ${seconds} s, cte-unnest\n\n| engine | rows/s | flushes/s |\n|---|---|---|`);
  for (const e of engines) {
    if (e.name === 'citus-defaults' || e.name === 'citus-32-shards') continue;
    const conns = await Promise.all(
      Array.from({ length: clients }, async (_, k) => {
        const c = new Client({ connectionString: e.url, options: e.options });
        await c.connect();
        const lane = `bench-c${k}-${e.lanes++}`;
        await c.query('INSERT INTO flush_fences (node, seq) VALUES ($1, 0)', [lane]);
        return { c, lane, seq: 0, rand: prng(100 + k) };
      }),
    );
    let rows = 0;
    let flushes = 0;
    const until = performance.now() + seconds * 1000;
    const started = performance.now();
    await Promise.all(
      conns.map(async (w) => {
        while (performance.now() < until) {
          const batch = makeBatch(w.rand, opts.rows / 5, opts.pool);
          rows += await SHAPES['cte-unnest'](w.c, w.lane, ++w.seq, batch);
          flushes++;
          record(e, batch);
        }
      }),
    );
    const s = (performance.now() - started) / 1000;
    console.log(`| ${e.name} | ${perSecond(rows / s)} | ${(flushes / s).toFixed(1)} |`);
    for (const w of conns) await w.c.end();
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  console.log(
    `upsert shapes: ${opts.rows} rows a flush from a pool of ${opts.pool} names, ${opts.rounds} rounds; ` +
      `${cpus().length} cores, load ${loadavg()[0].toFixed(2)}`,
  );
  let pg: TestPostgres | undefined;
  let citus: TestCitus | undefined;
  const engines: Engine[] = [];
  try {
    pg = await startTestPostgres();
    citus = await startTestCitus();
    const admin = new Client({ connectionString: pg.url });
    await admin.connect();
    await admin.query('CREATE DATABASE shapes_bench_test');
    await admin.end();
    engines.push(await openEngine('postgres', pg.urlOf('shapes_bench_test')));
    // The test cluster as configured in test/support/citus.ts …
    engines.push(await openEngine('citus', await citus.createDatabase('shapes_bench_test')));
    // … with Citus's default of 32 shards …
    const url32 = await citus.createDatabase('shapes_bench_32_test');
    engines.push(await openEngine('citus-32-shards', url32, ['SET citus.shard_count = 32']));
    // … with flush_fences a reference table instead of distributed by node …
    const urlRef = await citus.createDatabase('shapes_bench_ref_test');
    engines.push(
      await openEngine('citus-fence-reference', urlRef, [], undefined, [
        "SELECT undistribute_table('flush_fences')",
        "SELECT create_reference_table('flush_fences')",
      ]),
    );
    // … and with Citus's defaults: 32 shards and one cached connection per worker.
    const urlDefaults = await citus.createDatabase('shapes_bench_defaults_test');
    engines.push(
      await openEngine('citus-defaults', urlDefaults, ['SET citus.shard_count = 32'], '-c citus.max_cached_conns_per_worker=1'),
    );

    await smallFlushes(engines, opts);
    await shapes(engines, opts);
    await concurrent(engines, opts, 4, 15);

    console.log('');
    for (const e of engines) {
      const r = await e.client.query<{ d: string; b: string }>('SELECT sum(delivered) AS d, sum(bounced) AS b FROM domains');
      const got = { delivered: Number(r.rows[0].d), bounced: Number(r.rows[0].b) };
      if (got.delivered !== e.expected.delivered || got.bounced !== e.expected.bounced) {
        throw new Error(`${e.name}: stored ${JSON.stringify(got)}, expected ${JSON.stringify(e.expected)}`);
      }
      console.log(`${e.name}: totals exact (${got.delivered} delivered, ${got.bounced} bounced)`);
    }
    console.log(`load average at the end: ${loadavg()[0].toFixed(2)}`);
  } finally {
    for (const e of engines) await e.client.end().catch(() => undefined);
    await citus?.destroy();
    await pg?.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
