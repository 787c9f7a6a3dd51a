// Builds the webhook state that matches the counter store (same database, or
// this process for STORE=memory) and, when WEBHOOK_URLS is set, the deliverer
// with its HTTP sender, metrics and log lines. The deliverer starts once the
// app is up and stops first on shutdown, before the store's pool closes.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { MemoryCounterStore } from '../business/adapters/memory/memory-counter-store.adapter';
import { MemoryWebhookState } from '../business/adapters/memory/memory-webhook-state.adapter';
import { poolOf } from '../business/adapters/postgres/data-source';
import { PostgresCounterStore } from '../business/adapters/postgres/postgres-counter-store.adapter';
import { PostgresWebhookState } from '../business/adapters/postgres/postgres-webhook-state.adapter';
import { CachedCounterStore } from '../business/adapters/redis-cache/cached-counter-store.adapter';
import { HttpWebhookSender } from '../business/adapters/webhook-http/http-webhook-sender.adapter';
import { ChangeFeed, CounterStore, WebhookState } from '../business/ports';
import { endpointKey, WebhookDeliverer } from '../business/services';
import { Metrics } from '../foundation/metrics/metrics';
import { BatchedPruner } from '../foundation/scheduling/batched-pruner';
import { APP_CONFIG, AppConfig, displayUrl } from './config';
import { toChangeView } from './handlers/change-view';
import { WebhookMetrics } from './metrics/webhook-metrics';

/** Changes read from the feed at once by an endpoint's loop. */
const FEED_BATCH = 100;

export function createWebhookState(store: CounterStore): WebhookState {
  const counters = store instanceof CachedCounterStore ? store.inner : store;
  if (counters instanceof PostgresCounterStore) return new PostgresWebhookState(poolOf(counters.dataSource));
  if (counters instanceof MemoryCounterStore) return new MemoryWebhookState();
  throw new Error(`no webhook state for the ${counters.kind} counter store`);
}

/** The deliverer, or null when WEBHOOK_URLS is not set. */
export function createWebhookDeliverer(
  feed: ChangeFeed,
  state: WebhookState,
  config: AppConfig,
  metrics: Metrics,
): WebhookDeliverer | null {
  const urls = config.WEBHOOK_URLS;
  const secret = config.WEBHOOK_SECRET;
  if (!urls || !secret) return null;
  const logger = new Logger('Webhooks');
  const endpoints = urls.map((url) => ({ key: endpointKey(url), url }));
  for (const ep of endpoints) logger.log(`endpoint ${ep.key}: ${displayUrl(ep.url)}`);
  if (!state.info().durable) logger.warn('delivery state (cursors, parked deliveries) lives in this process only (STORE=memory)');
  const series = new WebhookMetrics(
    metrics,
    endpoints.map((ep) => ep.key),
    state,
  );
  return new WebhookDeliverer(
    feed,
    state,
    new HttpWebhookSender(secret, config.WEBHOOK_TIMEOUT_MS),
    endpoints,
    {
      owner: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
      backoffMs: config.WEBHOOK_BACKOFF_MS,
      backoffMaxMs: config.WEBHOOK_BACKOFF_MAX_MS,
      leaseMs: config.WEBHOOK_LEASE_MS,
      batch: FEED_BATCH,
      render: toChangeView,
    },
    {
      delivered: (ep) => series.delivered(ep),
      attemptFailed: (ep, change, attempt, error) => {
        series.attemptFailed(ep);
        logger.debug(`endpoint ${ep}: change ${change.id}, attempt ${attempt} failed: ${error}`);
      },
      parked: (f) => {
        series.parked(f);
        logger.warn(`endpoint ${f.endpoint}: change ${f.changeId} parked after ${f.attempts} attempts (last: ${f.lastError})`);
      },
      lease: (ep, held) => {
        series.lease(ep, held);
        logger.log(`endpoint ${ep}: ${held ? 'delivering from this node' : 'no longer delivering from this node'}`);
      },
      stateFailed: (ep, err) =>
        logger.warn(`endpoint ${ep}: delivery state unavailable, retrying: ${err instanceof Error ? err.message : String(err)}`),
    },
  );
}

const DAY_MS = 24 * 3600_000;

/**
 * Starts delivering once the app is up; stops (giving the leases up) when it
 * begins to shut down. Hourly, deletes parked deliveries older than
 * CHANGES_RETENTION_DAYS: their change has left the feed by then, so they can
 * no longer be replayed from it.
 */
@Injectable()
export class WebhooksLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  private readonly pruner: BatchedPruner;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(WebhookState) state: WebhookState,
    @Optional() @Inject(WebhookDeliverer) private readonly deliverer: WebhookDeliverer | null = null,
  ) {
    this.pruner = new BatchedPruner({
      everyMs: 3600_000,
      batch: 1_000,
      maxBatches: 100,
      olderThanMs: config.CHANGES_RETENTION_DAYS * DAY_MS,
      deleteBatch: (before, limit) => state.pruneFailures(before, limit),
      deleted: (total, before) => this.logger.log(`deleted ${total} parked deliveries recorded before ${before.toISOString()}`),
      failed: (err) =>
        this.logger.warn(`deleting old parked deliveries failed (retried in an hour): ${err instanceof Error ? err.message : String(err)}`),
    });
  }

  onApplicationBootstrap(): void {
    this.deliverer?.start();
    this.pruner.start();
  }

  async onModuleDestroy(): Promise<void> {
    const pruned = this.pruner.stop();
    await this.deliverer?.close();
    await pruned;
  }
}
