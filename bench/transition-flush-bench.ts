// Benchmark: what recording status transitions costs a flush, on PostgreSQL.
// Two counter stores on one database, one with transition recording
// (recorded-flush.ts: an explicit transaction, the stats and outbox statements
// only when a domain was created or changed status) and one without (the
// plain upsert, one statement), take turns
// (interleaved rounds, same server, same run) flushing 1000-domain batches:
//   new          1000 never-seen domains each (+1 delivered): worst case for rows, no transition
//   hot          1000 of 5000 known domains (+1 delivered): updates, no transition
//   transitions  1000 never-seen domains each with a bounce: 1000 transitions per flush
// The server is the test support's own PostgreSQL 15, or with --citus its
// 3-node Citus cluster (fsync off: this measures the statement's work, not the
// disk). One flush at a time, from one connection; --batch sets the domains
// per flush (the hot set is five batches).
//
//   npx tsx bench/transition-flush-bench.ts [--seconds 3] [--rounds 4] [--batch 1000] [--citus]
import { createPostgresDataSource, poolOf } from '../business/adapters/postgres/data-source';
import { migrateUp } from '../business/adapters/postgres/migrate';
import { PostgresCounterStore } from '../business/adapters/postgres/postgres-counter-store.adapter';
import { Counts } from '../business/models';
import { MIGRATIONS } from '../migrations';
import { startTestCitus, TestCitus } from '../test/support/citus';
import { startTestPostgres } from '../test/support/postgres';

type Scenario = 'new' | 'hot' | 'transitions';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 3);
  const rounds = arg('rounds', 4);
  const BATCH = arg('batch', 1000);
  const citus = process.argv.includes('--citus');
  const pg = citus ? await startTestCitus() : await startTestPostgres();
  try {
    const url = citus ? await (pg as TestCitus).createDatabase('bench_test') : pg.urlOf('postgres');
    const ds = createPostgresDataSource({ url, poolSize: 4, migrations: MIGRATIONS });
    await ds.initialize();
    await migrateUp(ds);
    const plain = await PostgresCounterStore.open(ds);
    const recording = await PostgresCounterStore.open(ds, {}, undefined, { threshold: 1000 });
    let fresh = 0;
    const hot = Array.from({ length: 5 * BATCH }, (_, i) => `hot${i}.bench.com`);
    const batchFor = (s: Scenario): Map<string, Counts> => {
      const m = new Map<string, Counts>();
      if (s === 'hot') {
        const start = Math.floor(Math.random() * 4) * BATCH;
        for (let i = 0; i < BATCH; i++) m.set(hot[start + i], { delivered: 1, bounced: 0 });
      } else {
        const c = s === 'new' ? { delivered: 1, bounced: 0 } : { delivered: 0, bounced: 1 };
        for (let i = 0; i < BATCH; i++) m.set(`n${fresh++}.bench.com`, c);
      }
      return m;
    };
    const run = async (store: PostgresCounterStore, s: Scenario) => {
      const times: number[] = [];
      const end = performance.now() + seconds * 1000;
      while (performance.now() < end) {
        const batch = batchFor(s);
        const t0 = performance.now();
        await store.apply(batch, { totals: false });
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      return {
        flushesPerS: times.length / seconds,
        p50: times[Math.floor(times.length * 0.5)],
        p95: times[Math.floor(times.length * 0.95)],
      };
    };
    // Warm both up (prepared statements, caches).
    for (const s of ['new', 'hot', 'transitions'] as Scenario[]) {
      await run(plain, s);
      await run(recording, s);
    }
    console.log(`${citus ? 'Citus 13 (coordinator + 2 workers)' : 'PostgreSQL 15'} (fsync off), ${BATCH} domains per flush, ${seconds} s per turn, ${rounds} rounds`);
    console.log('scenario     variant    round  flushes/s  p50 ms  p95 ms');
    for (let r = 1; r <= rounds; r++) {
      for (const s of ['new', 'hot', 'transitions'] as Scenario[]) {
        const order: Array<[string, PostgresCounterStore]> = r % 2 ? [['plain', plain], ['recording', recording]] : [['recording', recording], ['plain', plain]];
        for (const [name, store] of order) {
          const m = await run(store, s);
          console.log(
            `${s.padEnd(12)} ${name.padEnd(10)} ${String(r).padStart(5)} ${m.flushesPerS.toFixed(0).padStart(10)} ${m.p50.toFixed(2).padStart(7)} ${m.p95.toFixed(2).padStart(7)}`,
          );
        }
      }
    }
    // No sequencer runs here (no change feed is opened), so the transitions stay
    // in the outbox: the flush's own cost, without the sequencer's work beside it.
    const changes = await poolOf(ds).query('SELECT count(*) FROM status_changes_outbox');
    console.log(`status_changes_outbox rows written: ${changes.rows[0].count}`);
    await plain.close().catch(() => undefined);
  } finally {
    await pg.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
