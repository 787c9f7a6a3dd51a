// Builds the idempotent-batch store that matches the counter store the
// configuration built (same database, same memory), with the status cache
// around it when there is one, and the service that runs keyed batches.
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { MemoryCounterStore } from '../business/adapters/memory/memory-counter-store.adapter';
import { MemoryIdempotentBatchStore } from '../business/adapters/memory/memory-idempotent-batch-store.adapter';
import { PostgresCounterStore } from '../business/adapters/postgres/postgres-counter-store.adapter';
import { PostgresIdempotentBatchStore } from '../business/adapters/postgres/postgres-idempotent-batch-store.adapter';
import { CachedCounterStore } from '../business/adapters/redis-cache/cached-counter-store.adapter';
import { CachedIdempotentBatchStore } from '../business/adapters/redis-cache/cached-idempotent-batch-store.adapter';
import { CounterStore, IdempotentBatchStore } from '../business/ports';
import { IdempotentBatchService } from '../business/services';
import { AppConfig } from './config';
import { Metrics } from '../foundation/metrics/metrics';
import { IdempotencyMetrics } from './metrics/idempotency-metrics';
import { ServiceMetrics } from './metrics/service-metrics';

function createIdempotentBatchStore(store: CounterStore): IdempotentBatchStore {
  const cached = store instanceof CachedCounterStore ? store : undefined;
  const counters = cached ? cached.inner : store;
  let keyed: IdempotentBatchStore;
  if (counters instanceof PostgresCounterStore) keyed = new PostgresIdempotentBatchStore(counters.dataSource, counters);
  else if (counters instanceof MemoryCounterStore) keyed = new MemoryIdempotentBatchStore(counters);
  else throw new Error(`no idempotent-batch store for the ${counters.kind} counter store`);
  return cached ? new CachedIdempotentBatchStore(keyed, cached) : keyed;
}

export function createIdempotentBatchService(
  store: CounterStore,
  config: AppConfig,
  metrics: ServiceMetrics,
  registry: Metrics,
): IdempotentBatchService {
  const logger = new Logger('Idempotency');
  const series = new IdempotencyMetrics(registry);
  const service = new IdempotentBatchService(
    createIdempotentBatchStore(store),
    {
      ttlSeconds: config.IDEMPOTENCY_TTL_S,
      waitMs: config.ACK_TIMEOUT_MS,
      // Each keyed batch in flight holds a pooled connection: leave the flushes theirs.
      maxInFlight: Math.max(1, config.DATABASE_POOL_SIZE - config.FLUSH_CONCURRENCY),
    },
    {
      eventsAccepted: (type, n) => metrics.eventsAccepted(type, n),
      outcome: (o) => series.outcome(o),
      pruned: (n) => {
        series.keysPruned(n);
        logger.debug(`deleted ${n} expired idempotency keys`);
      },
      pruneFailed: (err) => logger.warn(`deleting expired idempotency keys failed: ${err instanceof Error ? err.message : String(err)}`),
    },
  );
  service.start();
  return service;
}

/** Stops pruning and refuses new keyed batches when the app begins to shut down. */
@Injectable()
export class IdempotencyLifecycle implements OnModuleDestroy {
  constructor(@Inject(IdempotentBatchService) private readonly service: IdempotentBatchService) {}

  onModuleDestroy(): Promise<void> {
    return this.service.close();
  }
}
