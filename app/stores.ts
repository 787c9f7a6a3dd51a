// Builds the counter store (and, later, the cache around it) that the
// configuration asks for. The only place that knows every adapter.
import { Logger } from '@nestjs/common';
import { CounterStore } from '../business/ports';
import { MemoryCounterStore } from '../business/adapters/memory/memory-counter-store.adapter';
import { createPostgresDataSource } from '../business/adapters/postgres/data-source';
import { migrateUp } from '../business/adapters/postgres/migrate';
import { PostgresCounterStore } from '../business/adapters/postgres/postgres-counter-store.adapter';
import { Metrics } from '../foundation/metrics/metrics';
import { MIGRATIONS } from '../migrations';
import { AppConfig } from './config';
import { maskUrl, openDatabase } from './database';
import { StoreMetrics } from './metrics/store-metrics';

export async function createCounterStore(config: AppConfig, logger: Logger, metrics: Metrics): Promise<CounterStore> {
  switch (config.STORE) {
    case 'memory':
      logger.log('counter store: memory (counts live in this process only and are lost on exit)');
      return new MemoryCounterStore();
    case 'postgres':
      return createPostgresStore(config, logger, metrics);
    default:
      throw new Error(`STORE=${String(config.STORE)} is not available in this build`);
  }
}

async function createPostgresStore(config: AppConfig, logger: Logger, metrics: Metrics): Promise<PostgresCounterStore> {
  const db = await openDatabase(config, (msg) => logger.log(msg));
  const storeMetrics = new StoreMetrics(metrics);
  const dataSource = createPostgresDataSource({
    url: db.url,
    poolSize: config.DATABASE_POOL_SIZE,
    migrations: MIGRATIONS,
    // An idle connection dropped by the server; the pool replaces it on next use.
    onPoolError: (err) => logger.warn(`database connection lost: ${err.message}`),
  });
  const embedded = db.embedded;
  let store: PostgresCounterStore;
  try {
    await dataSource.initialize();
    if (config.MIGRATE_ON_START) {
      const applied = await migrateUp(dataSource);
      logger.log(applied.length > 0 ? `migrations applied: ${applied.join(', ')}` : 'schema up to date');
    }
    store = await PostgresCounterStore.open(dataSource, storeMetrics, embedded ? () => embedded.stop() : undefined);
  } catch (err) {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw new Error(`database ${maskUrl(db.url)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  storeMetrics.watch(store);
  logger.log(
    `counter store: postgres at ${maskUrl(db.url)}${embedded ? ' (embedded)' : ''}, pool ${config.DATABASE_POOL_SIZE}`,
  );
  return store;
}
