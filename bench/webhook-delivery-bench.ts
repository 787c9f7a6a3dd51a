// Benchmark: how fast the webhook deliverer drains the change feed to a fast
// receiver, with its state in PostgreSQL (a cursor UPDATE per delivered change)
// against the memory state, in the same run, interleaved. A flush records
// `--changes` transitions; then a deliverer with `--endpoints` endpoints (all
// the same loopback receiver, answering 204 at once) sends them, signed, over
// HTTP, and the time until every endpoint has every change is measured. The
// server is the test support's own PostgreSQL 15 (fsync off).
//
//   npx tsx bench/webhook-delivery-bench.ts [--changes 2000] [--endpoints 1] [--rounds 3]
import { MemoryWebhookState } from '../business/adapters/memory/memory-webhook-state.adapter';
import { createPostgresDataSource, poolOf } from '../business/adapters/postgres/data-source';
import { migrateUp } from '../business/adapters/postgres/migrate';
import { PostgresChangeFeed } from '../business/adapters/postgres/postgres-change-feed.adapter';
import { PostgresCounterStore } from '../business/adapters/postgres/postgres-counter-store.adapter';
import { PostgresWebhookState } from '../business/adapters/postgres/postgres-webhook-state.adapter';
import { HttpWebhookSender } from '../business/adapters/webhook-http/http-webhook-sender.adapter';
import { WebhookState } from '../business/ports';
import { endpointKey, WebhookDeliverer } from '../business/services';
import { MIGRATIONS } from '../migrations';
import { startTestPostgres } from '../test/support/postgres';
import { TEST_WEBHOOK_SECRET, WebhookReceiver } from '../test/support/webhook-receiver';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const changes = arg('changes', 2000);
  const endpoints = arg('endpoints', 1);
  const rounds = arg('rounds', 3);
  const pg = await startTestPostgres();
  const receiver = await WebhookReceiver.start(() => 204);
  try {
    const url = pg.urlOf('postgres');
    const ds = createPostgresDataSource({ url, poolSize: 8, migrations: MIGRATIONS });
    await ds.initialize();
    await migrateUp(ds);
    const feed = await PostgresChangeFeed.open(poolOf(ds), url);
    const store = await PostgresCounterStore.open(ds, {}, undefined, { threshold: 0, recorded: () => feed.recorded() });
    await store.apply(new Map(Array.from({ length: changes }, (_, i) => [`d${i}.bench.com`, { delivered: 0, bounced: 1 }])));
    await feed.sequence();
    const sender = new HttpWebhookSender(TEST_WEBHOOK_SECRET, 5_000);
    let run = 0;
    const measure = async (state: WebhookState): Promise<number> => {
      run++;
      // Fresh endpoint keys each run (distinct query strings), so every run starts at cursor 0.
      const eps = Array.from({ length: endpoints }, (_, i) => {
        const u = `${receiver.url}?run=${run}&ep=${i}`;
        return { key: endpointKey(u), url: u };
      });
      const before = receiver.received.length;
      const t0 = performance.now();
      const deliverer = new WebhookDeliverer(feed, state, sender, eps, {
        owner: 'bench',
        maxAttempts: 3,
        backoffMs: 10,
        backoffMaxMs: 100,
        leaseMs: 30_000,
        batch: 100,
        render: (c) => ({ cursor: String(c.id), domain: c.domain, from: c.from, to: c.to, at: c.at.toISOString() }),
      });
      deliverer.start();
      while (receiver.received.length - before < changes * endpoints) await new Promise((r) => setTimeout(r, 5));
      const ms = performance.now() - t0;
      await deliverer.close();
      return ms;
    };
    const states: Array<[string, WebhookState]> = [
      ['postgres', new PostgresWebhookState(poolOf(ds))],
      ['memory', new MemoryWebhookState()],
    ];
    await measure(states[0][1]); // warm-up
    console.log(`${changes} changes, ${endpoints} endpoint(s), one loopback receiver answering 204; ${rounds} rounds`);
    console.log('state     round  seconds  deliveries/s (all endpoints)');
    for (let r = 1; r <= rounds; r++) {
      for (const [name, state] of r % 2 ? states : [...states].reverse()) {
        const ms = await measure(state);
        console.log(`${name.padEnd(9)} ${String(r).padStart(5)} ${(ms / 1000).toFixed(2).padStart(8)} ${((changes * endpoints) / (ms / 1000)).toFixed(0).padStart(13)}`);
      }
    }
    await feed.close();
    await store.close().catch(() => undefined);
  } finally {
    await receiver.close();
    await pg.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
