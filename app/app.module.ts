// The composition root: builds every adapter and service from the validated
// configuration and the telemetry main built, and wires them into Nest.
import { DynamicModule, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ChangeFeed, CounterStore, StatusCache, StoreStatsSource, WebhookState } from '../business/ports';
import { IdempotentBatchService, IngestService, ListingService, LookupService, WebhookDeliverer } from '../business/services';
import { LoggerOptions, loggerModule } from '../foundation/logger/logger';
import { Metrics } from '../foundation/metrics/metrics';
import { AuthMetrics } from './auth/auth-metrics';
import { callerKeyOf } from './auth/caller';
import { cacheOf, withCache } from './cache';
import { ChangesPruner } from './changes-pruner';
import { APP_CONFIG, AppConfig } from './config';
import { assertDatabaseAvailable } from './database';
import { ChangesController } from './handlers/changes.http.controller';
import { DomainListingController } from './handlers/domain-listing.http.controller';
import { DomainsController } from './handlers/domains.http.controller';
import { EventsController } from './handlers/events.http.controller';
import { HealthController } from './handlers/health.http.controller';
import { KeyedBatchHandler } from './handlers/idempotent-batch';
import { MetricsController } from './handlers/metrics.http.controller';
import { StatsController } from './handlers/stats.http.controller';
import { WebhooksController } from './handlers/webhooks.http.controller';
import { ingestObserver } from './flush-observer';
import { EventRateLimit } from './limits/event-rate-limit';
import { ServiceMetrics } from './metrics/service-metrics';
import { registerStatsMetrics } from './metrics/stats-metrics';
import { createIdempotentBatchService, IdempotencyLifecycle } from './idempotency';
import { createStores, Stores } from './stores';
import { createWebhookDeliverer, createWebhookState, WebhooksLifecycle } from './webhooks';
import { NoRequestLinks, RequestLinks } from './tracing/flush-spans';
import { Telemetry } from './tracing/setup';
import { createFlushSpans, traceLogOptions, tracingModules } from './tracing/wiring';

/** The stores as built from config, before the cache wraps the counter store. */
const STORES = Symbol('STORES');

/** Stops ingest (flushing what is left) and then closes the store, in that order. */
class Lifecycle implements OnApplicationShutdown {
  private readonly logger = new Logger('Lifecycle');
  constructor(
    @Inject(IngestService) private readonly ingest: IngestService,
    @Inject(CounterStore) private readonly store: CounterStore,
    @Inject(ChangeFeed) private readonly feed: ChangeFeed,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    // Long-polls answer now (empty) rather than hold the shutdown.
    await this.feed.close().catch(() => undefined);
    try {
      await this.ingest.close();
      this.logger.log('pending events flushed');
    } catch (err) {
      this.logger.error(err instanceof Error ? err.message : String(err));
    } finally {
      await this.store.close();
    }
  }
}

/** The API key's name (never its secret) on the per-request log line. */
function withKeyName(opts: Pick<LoggerOptions, 'mixin' | 'requestFields'>): Pick<LoggerOptions, 'mixin' | 'requestFields'> {
  const fields = opts.requestFields;
  return {
    ...opts,
    requestFields: (req) => {
      const key = callerKeyOf(req);
      const base = fields ? fields(req) : {};
      return key === undefined ? base : { ...base, key };
    },
  };
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, telemetry: Telemetry): DynamicModule {
    assertDatabaseAvailable(config);
    const spans = createFlushSpans(telemetry);
    return {
      module: AppModule,
      imports: [
        loggerModule({ level: config.LOG_LEVEL, base: { service: 'catchall' }, ...withKeyName(traceLogOptions(telemetry)) }),
        TerminusModule.forRoot({ logger: false }),
        ...tracingModules(config, telemetry),
      ],
      controllers: [
        EventsController,
        DomainListingController,
        DomainsController,
        ChangesController,
        StatsController,
        WebhooksController,
        HealthController,
        MetricsController,
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: RequestLinks, useValue: spans ?? new NoRequestLinks() },
        { provide: Metrics, useFactory: () => new Metrics() },
        { provide: ServiceMetrics, useFactory: (m: Metrics) => new ServiceMetrics(m), inject: [Metrics] },
        { provide: AuthMetrics, useFactory: (m: Metrics) => new AuthMetrics(m.registry), inject: [Metrics] },
        { provide: EventRateLimit, useFactory: (m: AuthMetrics) => new EventRateLimit(config, m), inject: [AuthMetrics] },
        {
          provide: STORES,
          useFactory: (metrics: Metrics) => createStores(config, new Logger('Store'), metrics),
          inject: [Metrics],
        },
        {
          provide: CounterStore,
          useFactory: async (stores: Stores, metrics: Metrics) =>
            (await withCache(stores.store, config, new Logger('Cache'), metrics)).store,
          inject: [STORES, Metrics],
        },
        { provide: ChangeFeed, useFactory: (stores: Stores) => stores.feed, inject: [STORES] },
        {
          provide: StoreStatsSource,
          useFactory: (stores: Stores, metrics: Metrics) => {
            registerStatsMetrics(metrics, stores.stats);
            return stores.stats;
          },
          inject: [STORES, Metrics],
        },
        // The cache inside the store (null without one), for health output.
        { provide: StatusCache, useFactory: (store: CounterStore) => cacheOf(store) ?? null, inject: [CounterStore] },
        {
          provide: IngestService,
          useFactory: (store: CounterStore, metrics: ServiceMetrics) => {
            const ingest = new IngestService(
              store,
              {
                ackMode: config.ACK_MODE,
                ackTimeoutMs: config.ACK_TIMEOUT_MS,
                flushIntervalMs: config.FLUSH_INTERVAL_MS,
                flushMaxDomains: config.FLUSH_MAX_DOMAINS,
                maxConcurrentFlushes: config.FLUSH_CONCURRENCY,
                maxPendingEvents: config.MAX_PENDING_EVENTS,
                shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
              },
              ingestObserver(metrics, new Logger('Ingest'), spans),
            );
            metrics.watch(ingest);
            return ingest;
          },
          inject: [CounterStore, ServiceMetrics],
        },
        {
          provide: LookupService,
          useFactory: (store: CounterStore, ingest: IngestService) =>
            new LookupService(store, ingest, config.CATCHALL_THRESHOLD),
          inject: [CounterStore, IngestService],
        },
        {
          provide: ListingService,
          useFactory: (store: CounterStore) => new ListingService(store, config.CATCHALL_THRESHOLD),
          inject: [CounterStore],
        },
        ChangesPruner,
        {
          provide: IdempotentBatchService,
          useFactory: (store: CounterStore, metrics: ServiceMetrics, registry: Metrics) =>
            createIdempotentBatchService(store, config, metrics, registry),
          inject: [CounterStore, ServiceMetrics, Metrics],
        },
        KeyedBatchHandler,
        IdempotencyLifecycle,
        { provide: WebhookState, useFactory: (store: CounterStore) => createWebhookState(store), inject: [CounterStore] },
        {
          provide: WebhookDeliverer,
          useFactory: (feed: ChangeFeed, state: WebhookState, metrics: Metrics) => createWebhookDeliverer(feed, state, config, metrics),
          inject: [ChangeFeed, WebhookState, Metrics],
        },
        WebhooksLifecycle,
        Lifecycle,
      ],
    };
  }
}
