// Puts the status cache the configuration asks for (CACHE) around the counter
// store: CACHE=none returns the store as it is, CACHE=redis wraps it in a
// CachedCounterStore over Redis. The service starts even when Redis is down.
import { maskUrl } from '../foundation/config/env';
import { Logger } from '@nestjs/common';
import { CounterStore, StatusCache } from '../business/ports';
import { CachedCounterStore } from '../business/adapters/redis-cache/cached-counter-store.adapter';
import { RedisStatusCache } from '../business/adapters/redis-cache/redis-status-cache.adapter';
import { Metrics } from '../foundation/metrics/metrics';
import { AppConfig } from './config';
import { CacheMetrics } from './metrics/cache-metrics';

/** How long start-up waits for Redis before it goes on without it (ioredis keeps reconnecting). */
const CONNECT_WAIT_MS = 1000;

export interface CachedStore {
  store: CounterStore;
  cache?: StatusCache;
}

export async function withCache(
  store: CounterStore,
  config: AppConfig,
  logger: Logger,
  metrics: Metrics,
): Promise<CachedStore> {
  if (config.CACHE === 'none') return { store };
  const cacheMetrics = new CacheMetrics(metrics);
  const clusterNodes = config.REDIS_CLUSTER_NODES?.split(',');
  const cache = new RedisStatusCache({
    ...(clusterNodes ? { clusterNodes } : { url: config.REDIS_URL }),
    ttlSeconds: config.CACHE_TTL_S,
    timeoutMs: config.CACHE_TIMEOUT_MS,
    observer: {
      called: (op, durationMs, ok) => cacheMetrics.called(op, durationMs, ok),
      failed: (op) => cacheMetrics.failed(op),
      refused: (op) => cacheMetrics.refused(op),
      invalidated: (reason) => {
        cacheMetrics.invalidated();
        logger.log(`status cache: new generation started (${reason})`);
      },
      breakerChanged: (state, previous) => {
        cacheMetrics.breakerChanged(state);
        if (state === 'open') logger.warn('redis cache unreachable: circuit breaker open, reading from the store');
        if (state === 'closed' && previous !== 'closed') logger.log('redis cache reachable again: circuit breaker closed');
      },
    },
  });
  const cached = new CachedCounterStore(store, cache, cacheMetrics);
  const connected = await cache.connected(CONNECT_WAIT_MS);
  await cached.start();
  const where = clusterNodes ? `cluster ${clusterNodes.join(',')}` : maskUrl(config.REDIS_URL);
  if (connected) {
    logger.log(`status cache: redis at ${where}, ttl ${config.CACHE_TTL_S} s, timeout ${config.CACHE_TIMEOUT_MS} ms`);
  } else {
    logger.warn(`status cache: redis at ${where} is not reachable yet; serving from the store until it is`);
  }
  return { store: cached, cache };
}

/** The status cache inside a store built by withCache, for health output; undefined without one. */
export function cacheOf(store: CounterStore): StatusCache | undefined {
  return store instanceof CachedCounterStore ? store.cache : undefined;
}
