// Builds the counter store (and, later, the cache around it) that the
// configuration asks for. The only place that knows every adapter.
import { Logger } from '@nestjs/common';
import { ChangeFeed, CounterStore, StoreStatsSource } from '../business/ports';
import { MemoryChangeFeed } from '../business/adapters/memory/memory-change-feed.adapter';
import { MemoryCounterStore } from '../business/adapters/memory/memory-counter-store.adapter';
import { MemoryStoreStats } from '../business/adapters/memory/memory-store-stats.adapter';
import { createPostgresDataSource, poolOf } from '../business/adapters/postgres/data-source';
import { migrateUp } from '../business/adapters/postgres/migrate';
import { PostgresChangeFeed } from '../business/adapters/postgres/postgres-change-feed.adapter';
import { PostgresCounterStore } from '../business/adapters/postgres/postgres-counter-store.adapter';
import { PostgresStoreStats } from '../business/adapters/postgres/postgres-store-stats.adapter';
import { Metrics } from '../foundation/metrics/metrics';
import { MIGRATIONS } from '../migrations';
import { AppConfig } from './config';
import { maskUrl, openDatabase } from './database';
import { StoreMetrics } from './metrics/store-metrics';

/** The counter store, the feed of status transitions it records into, and the stats it keeps. */
export interface Stores {
  store: CounterStore;
  feed: ChangeFeed;
  stats: StoreStatsSource;
}

export async function createStores(config: AppConfig, logger: Logger, metrics: Metrics): Promise<Stores> {
  switch (config.STORE) {
    case 'memory': {
      logger.log('counter store: memory (counts and the change feed live in this process only and are lost on exit)');
      const feed = new MemoryChangeFeed();
      const stats = new MemoryStoreStats(config.CATCHALL_THRESHOLD);
      return { store: new MemoryCounterStore(feed, config.CATCHALL_THRESHOLD, stats), feed, stats };
    }
    case 'postgres':
      return createPostgresStore(config, logger, metrics);
    default:
      throw new Error(`STORE=${String(config.STORE)} is not available in this build`);
  }
}

async function createPostgresStore(config: AppConfig, logger: Logger, metrics: Metrics): Promise<Stores> {
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
  let feed: PostgresChangeFeed | undefined;
  let stats: PostgresStoreStats;
  try {
    await dataSource.initialize();
    if (config.MIGRATE_ON_START) {
      const applied = await migrateUp(dataSource);
      logger.log(applied.length > 0 ? `migrations applied: ${applied.join(', ')}` : 'schema up to date');
    }
    const opened = await PostgresChangeFeed.open(poolOf(dataSource), db.url);
    feed = opened;
    store = await PostgresCounterStore.open(dataSource, storeMetrics, embedded ? () => embedded.stop() : undefined, {
      threshold: config.CATCHALL_THRESHOLD,
      recorded: () => opened.recorded(),
    });
    stats = new PostgresStoreStats(poolOf(dataSource));
  } catch (err) {
    await feed?.close();
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw new Error(`database ${maskUrl(db.url)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  storeMetrics.watch(store);
  logger.log(
    `counter store: postgres at ${maskUrl(db.url)}${embedded ? ' (embedded)' : ''}, pool ${config.DATABASE_POOL_SIZE}`,
  );
  return { store, feed, stats };
}
