// Benchmark: GET /domains's query at 10 million domains (a range scan of the
// index on (status, name)), and whether the flush's updates stay HOT with the
// stored status column.
//
// 1. Loads N domains (default 10,000,000) into a fresh PostgreSQL with
//    generate_series: random-looking names (md5), so the heap's order is not
//    the name order (as in production, where domains arrive in any order);
//    1% catch-all, 30% not catch-all, 69% unknown (threshold 1000), with
//    domains.status set by the migration's rule.
// 2. Pages: PostgresCounterStore.list (the adapter's own prepared statement)
//    from random cursors, per status and page size: p50 / p95 / max in ms. Also
//    a full walk of the rarest status (catch-all).
// 3. (PostgreSQL) Flushes of 1000 known domains: +1 delivered each (no status
//    change), then flushes where every domain changes status (+1 bounced to
//    unknown domains), then 990 + 10: ms per flush and the share of HOT updates
//    (n_tup_hot_upd / n_tup_upd of pg_stat_user_tables).
// 4. The worst case: a status with no domain. The catch-all rows are deleted
//    (then VACUUM), and catch-all pages are timed again from random cursors.
// The server is the test support's PostgreSQL 15 (fsync off, shared_buffers
// 64MB: the table does not fit, pages come from the OS cache).
//
// With --citus, steps 1, 2 and 4 run on a Citus cluster of its own
// (coordinator and two workers on this box; `domains` distributed by name, 32
// shards): each shard scans its own index and the coordinator merges.
//
//   flock /tmp/catchall-bench.lock npx tsx bench/listing-bench.ts [--domains 10000000] [--seconds 5]
//   flock /tmp/catchall-bench.lock npx tsx bench/listing-bench.ts --citus --domains 1000000
//   (--pages-only: steps 1, 2 and 4 only)
import type { Pool } from 'pg';
import { createPostgresDataSource, poolOf } from '../business/adapters/postgres/data-source';
import { migrateUp } from '../business/adapters/postgres/migrate';
import { PostgresCounterStore } from '../business/adapters/postgres/postgres-counter-store.adapter';
import { Counts, DomainStatus } from '../business/models';
import { MIGRATIONS } from '../migrations';
import { startTestCitus } from '../test/support/citus';
import { startTestPostgres } from '../test/support/postgres';

const THRESHOLD = 1000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function stats(times: number[]): string {
  const t = [...times].sort((a, b) => a - b);
  const at = (q: number) => t[Math.min(t.length - 1, Math.floor(q * t.length))].toFixed(2);
  return `p50 ${at(0.5)}  p95 ${at(0.95)}  max ${t[t.length - 1].toFixed(2)} ms (n=${t.length})`;
}

/** The name of the i-th generated domain (the same expression as the load). */
const nameSql = (i: string) => `md5((${i})::text) || '.example'`;

async function load(pool: Pool, n: number, citus: boolean): Promise<void> {
  const started = performance.now();
  // Without the indexes while loading, then built once by sorting: minutes faster at 10M.
  if (!citus) {
    await pool.query('ALTER TABLE domains DROP CONSTRAINT domains_pkey');
    await pool.query('DROP INDEX domains_status_name');
  }
  const chunk = 1_000_000;
  for (let from = 1; from <= n; from += chunk) {
    const to = Math.min(n, from + chunk - 1);
    // status: the migration's rule (bounced >= 1 → 2 not catch-all, delivered > 1000 → 1 catch-all, else 0).
    await pool.query(
      `INSERT INTO domains (name, delivered, bounced, status)
       SELECT name, delivered, bounced, CASE WHEN bounced >= 1 THEN 2 WHEN delivered > ${THRESHOLD} THEN 1 ELSE 0 END
       FROM (SELECT ${nameSql('i')} AS name,
                    CASE WHEN i % 100 = 50 THEN 1500 ELSE i % 900 END AS delivered,
                    CASE WHEN i % 10 IN (1, 2, 3) THEN 1 ELSE 0 END AS bounced
             FROM generate_series($1::int, $2::int) AS i) AS g`,
      [from, to],
    );
  }
  if (!citus) {
    await pool.query('ALTER TABLE domains ADD PRIMARY KEY (name)');
    await pool.query('CREATE INDEX domains_status_name ON domains (status, name)');
  }
  await pool.query('VACUUM ANALYZE domains');
  const size = await pool.query<{ s: string; i: string }>(
    "SELECT pg_size_pretty(pg_total_relation_size('domains')) AS s, pg_size_pretty(pg_indexes_size('domains')) AS i",
  );
  console.log(`loaded ${n} domains in ${((performance.now() - started) / 1000).toFixed(0)} s (table and indexes: ${size.rows[0].s}, indexes: ${size.rows[0].i})`);
}

async function randomCursors(pool: Pool, n: number): Promise<string[]> {
  const r = await pool.query<{ name: string }>(`SELECT ${nameSql('(random() * $1)::int')} AS name FROM generate_series(1, 40)`, [n]);
  return r.rows.map((row) => row.name);
}

async function pageTimes(store: PostgresCounterStore, status: DomainStatus | undefined, limit: number, cursors: string[]): Promise<number[]> {
  const times: number[] = [];
  for (const after of [undefined, ...cursors]) {
    const t0 = performance.now();
    await store.list({ status, threshold: THRESHOLD, after, limit });
    times.push(performance.now() - t0);
  }
  return times.slice(1); // the first (from the start) also prepares the statement
}

async function pages(store: PostgresCounterStore, pool: Pool, n: number): Promise<void> {
  const cursors = await randomCursors(pool, n);
  const statuses: Array<DomainStatus | undefined> = [undefined, 'unknown', 'not catch-all', 'catch-all'];
  for (const limit of [100, 1000]) {
    for (const status of statuses) {
      console.log(`page limit=${limit} status=${status ?? 'all'}: ${stats(await pageTimes(store, status, limit, cursors))}`);
    }
  }
  const plan = await pool.query<{ 'QUERY PLAN': string }>(
    'EXPLAIN SELECT name, delivered, bounced FROM domains WHERE status = 1::smallint AND name > $1 ORDER BY status, name LIMIT 100',
    [''],
  );
  console.log(`plan (catch-all, limit 100):\n  ${plan.rows.map((r) => r['QUERY PLAN']).join('\n  ')}`);
}

/** The worst case of the old walk: a status no domain has. The catch-all rows are deleted, then vacuumed. */
async function emptyStatus(store: PostgresCounterStore, pool: Pool, n: number): Promise<void> {
  const t0 = performance.now();
  const deleted = await pool.query('DELETE FROM domains WHERE status = 1');
  await pool.query('VACUUM ANALYZE domains');
  console.log(`deleted the ${deleted.rowCount} catch-all domains and vacuumed in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const cursors = await randomCursors(pool, n);
  for (const limit of [100, 1000]) {
    const times = await pageTimes(store, 'catch-all', limit, cursors);
    const rows = await store.list({ status: 'catch-all', threshold: THRESHOLD, limit });
    if (rows.length !== 0) throw new Error('catch-all domains left');
    console.log(`page limit=${limit} of a status no domain has (catch-all after the delete): ${stats(times)}`);
  }
}

async function walk(store: PostgresCounterStore, status: DomainStatus): Promise<void> {
  const started = performance.now();
  let after: string | undefined;
  let total = 0;
  let pagesRead = 0;
  for (;;) {
    const rows = await store.list({ status, threshold: THRESHOLD, after, limit: 1000 });
    total += rows.length;
    pagesRead++;
    if (rows.length < 1000) break;
    after = rows[rows.length - 1].name;
  }
  const s = (performance.now() - started) / 1000;
  console.log(`walk status=${status} limit=1000: ${total} domains, ${pagesRead} pages in ${s.toFixed(1)} s (${(total / s).toFixed(0)} domains/s)`);
}

async function flushes(store: PostgresCounterStore, pool: Pool, n: number, seconds: number): Promise<void> {
  // A working set of 50,000 known domains, flushed 1000 at a time (+1 delivered: no status change;
  // none of them gets near the threshold: delivered is at most 899 or already 1500).
  const known = (await pool.query<{ name: string }>(`SELECT ${nameSql('i * 197')} AS name FROM generate_series(1, 50000) AS i WHERE i * 197 <= $1`, [n])).rows.map(
    (r) => r.name,
  );
  // Unknown domains (i % 10 = 4: bounced 0, delivered < 900), each used once: +1 bounced makes it not catch-all.
  const unknown = (await pool.query<{ name: string }>(`SELECT ${nameSql('i * 10 + 4')} AS name FROM generate_series(0, $1::int / 10 - 1) AS i ORDER BY random() LIMIT 400000`, [n])).rows.map(
    (r) => r.name,
  );
  let nextUnknown = 0;
  const batch = (changing: number): Map<string, Counts> => {
    const m = new Map<string, Counts>();
    const start = Math.floor(Math.random() * (known.length - 1000));
    for (let i = 0; i < 1000 - changing; i++) m.set(known[start + i], { delivered: 1, bounced: 0 });
    for (let i = 0; i < changing; i++) {
      m.set(unknown[nextUnknown++], { delivered: 0, bounced: 1 });
    }
    return m;
  };
  const counters = async () =>
    (await pool.query<{ upd: string; hot: string }>("SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = 'domains'")).rows[0];
  const run = async (label: string, changing: number, limitSeconds = seconds) => {
    await pool.query('SELECT pg_stat_clear_snapshot()');
    const before = await counters();
    const times: number[] = [];
    const end = performance.now() + limitSeconds * 1000;
    // (a smaller --domains runs out of unknown domains first)
    while (performance.now() < end && nextUnknown + changing <= unknown.length) {
      const b = batch(changing);
      const t0 = performance.now();
      await store.apply(b, { totals: false });
      times.push(performance.now() - t0);
    }
    if (times.length === 0) return;
    // Every row of a batch exists, so expect times.length * 1000 updates; a backend reports its
    // table statistics at most once a second (later when busy), so wait for them, 15 s at most.
    const expected = times.length * 1000;
    let updates = 0;
    let hot = 0;
    for (let waited = 0; waited < 15_000; waited += 250) {
      await new Promise((r) => setTimeout(r, 250));
      await pool.query('SELECT pg_stat_clear_snapshot()');
      const after = await counters();
      updates = Number(after.upd) - Number(before.upd);
      hot = Number(after.hot) - Number(before.hot);
      if (updates >= expected) break;
    }
    const share = updates > 0 ? (100 * hot) / updates : 0;
    console.log(`flush 1000 known domains, ${label}: ${stats(times)}, HOT ${hot} of ${updates} updates (${share.toFixed(1)}%; expected ${expected})`);
  };
  // Warm-up: the working set's pages get their free space back (pruning) as in a long-running table.
  await run('no status change (warm-up)', 0);
  await run('no status change', 0);
  await run('all 1000 change status (unknown → not catch-all)', 1000, Math.min(seconds, 3));
  await run('990 no change + 10 change status', 10);
  await run('no status change (again)', 0);
}

async function main(): Promise<void> {
  const citus = process.argv.includes('--citus');
  const n = arg('domains', citus ? 1_000_000 : 10_000_000);
  const seconds = arg('seconds', 5);
  const server = citus ? await startTestCitus() : await startTestPostgres();
  try {
    const url = citus ? await (server as Awaited<ReturnType<typeof startTestCitus>>).createDatabase('listing_bench_test') : server.urlOf('postgres');
    const ds = createPostgresDataSource({ url, poolSize: 4, migrations: MIGRATIONS });
    await ds.initialize();
    await migrateUp(ds);
    const pool = poolOf(ds);
    await load(pool, n, citus);
    const store = await PostgresCounterStore.open(ds);
    await pages(store, pool, n);
    if (!process.argv.includes('--pages-only')) {
      await walk(store, 'catch-all');
      if (!citus) await flushes(store, pool, n, seconds);
    }
    await emptyStatus(store, pool, n);
    await store.close();
  } finally {
    await server.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
