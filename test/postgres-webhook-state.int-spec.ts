// The PostgreSQL webhook state on a real PostgreSQL and on a 3-node Citus
// cluster (where its tables stay plain tables of the coordinator): the
// webhook-state contract, and two owners racing for one endpoint's lease.
import { DataSource } from 'typeorm';
import { createPostgresDataSource, poolOf } from '../business/adapters/postgres/data-source';
import { migrateUp } from '../business/adapters/postgres/migrate';
import { PostgresWebhookState } from '../business/adapters/postgres/postgres-webhook-state.adapter';
import { MIGRATIONS } from '../migrations';
import { describeWebhookStateContract } from './contracts/webhook-state.contract';
import { createCitusTestDatabase } from './support/citus';
import { createTestDatabase, dropTestDatabase } from './support/postgres';

const ENGINES: Array<[string, (name: string) => Promise<string>, boolean]> = [
  ['PostgreSQL', (name) => createTestDatabase(name), true],
  // The shared cluster is deleted whole at the end of the run.
  ['Citus', (name) => createCitusTestDatabase(name), false],
];

describe.each(ENGINES)('webhook state on %s', (engine, createDatabase, drop) => {
  let url: string;
  let ds: DataSource;

  beforeAll(async () => {
    url = await createDatabase('webhook_state_test');
    ds = createPostgresDataSource({ url, poolSize: 8, migrations: MIGRATIONS });
    await ds.initialize();
    await migrateUp(ds);
  });

  afterAll(async () => {
    await ds?.destroy();
    if (url && drop) await dropTestDatabase(url);
  });

  describeWebhookStateContract(engine, async () => {
    await ds.query('TRUNCATE webhook_cursors, webhook_failures');
    return { state: new PostgresWebhookState(poolOf(ds)), close: async () => undefined };
  });

  it('gives an endpoint to exactly one of many owners asking at once', async () => {
    await ds.query('TRUNCATE webhook_cursors, webhook_failures');
    const state = new PostgresWebhookState(poolOf(ds));
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => state.acquire(`race${round}`, `owner${i}`, 60_000)));
      expect(answers.filter((a) => a !== undefined)).toEqual([0]);
    }
  });
});
