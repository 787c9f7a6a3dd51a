// The composition root: builds every adapter and service from the validated
// configuration and wires them into Nest.
import { DynamicModule, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { CounterStore, StatusCache } from '../business/ports';
import { IdempotentBatchService, IngestService, LookupService } from '../business/services';
import { loggerModule } from '../foundation/logger/logger';
import { Metrics } from '../foundation/metrics/metrics';
import { cacheOf, withCache } from './cache';
import { APP_CONFIG, AppConfig } from './config';
import { DomainsController } from './handlers/domains.http.controller';
import { EventsController } from './handlers/events.http.controller';
import { HealthController } from './handlers/health.http.controller';
import { KeyedBatchHandler } from './handlers/idempotent-batch';
import { MetricsController } from './handlers/metrics.http.controller';
import { ServiceMetrics } from './metrics/service-metrics';
import { createIdempotentBatchService, IdempotencyLifecycle } from './idempotency';
import { createCounterStore } from './stores';
import { createFlushSpans, traceLogOptions, tracingModules } from './tracing/wiring';

/** Stops ingest (flushing what is left) and then closes the store, in that order. */
class Lifecycle implements OnApplicationShutdown {
  private readonly logger = new Logger('Lifecycle');
  constructor(
    @Inject(IngestService) private readonly ingest: IngestService,
    @Inject(CounterStore) private readonly store: CounterStore,
  ) {}

  async onApplicationShutdown(): Promise<void> {
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

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, skipProcessEnv: true, load: [() => config] }),
        loggerModule({ level: config.LOG_LEVEL, base: { service: 'catchall' }, ...traceLogOptions(config) }),
        TerminusModule.forRoot({ logger: false }),
        ...tracingModules(config),
      ],
      controllers: [EventsController, DomainsController, HealthController, MetricsController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: Metrics, useFactory: () => new Metrics() },
        { provide: ServiceMetrics, useFactory: (m: Metrics) => new ServiceMetrics(m), inject: [Metrics] },
        {
          provide: CounterStore,
          useFactory: async (metrics: Metrics) => {
            const store = await createCounterStore(config, new Logger('Store'), metrics);
            return (await withCache(store, config, new Logger('Cache'), metrics)).store;
          },
          inject: [Metrics],
        },
        // The cache inside the store (null without one), for health output.
        { provide: StatusCache, useFactory: (store: CounterStore) => cacheOf(store) ?? null, inject: [CounterStore] },
        {
          provide: IngestService,
          useFactory: (store: CounterStore, metrics: ServiceMetrics) => {
            const logger = new Logger('Ingest');
            const spans = createFlushSpans();
            const ingest = new IngestService(
              spans ? spans.wrap(store) : store,
              {
                ackMode: config.ACK_MODE,
                ackTimeoutMs: config.ACK_TIMEOUT_MS,
                flushIntervalMs: config.FLUSH_INTERVAL_MS,
                flushMaxDomains: config.FLUSH_MAX_DOMAINS,
                maxConcurrentFlushes: config.FLUSH_CONCURRENCY,
                maxPendingEvents: config.MAX_PENDING_EVENTS,
                shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
              },
              {
                eventsAccepted: (type, n) => metrics.eventsAccepted(type, n),
                eventsRejected: (reason, n) => metrics.eventsRejected(reason, n),
                flushStarted: spans && ((s) => spans.started(s)),
                flushSucceeded: (r, token) => {
                  metrics.flushSucceeded(r);
                  spans?.succeeded(r, token);
                },
                flushFailed: (r, err, retryInMs, token) => {
                  metrics.flushFailed(r);
                  spans?.failed(r, err, retryInMs, token);
                  logger.warn(
                    {
                      domains: r.domains,
                      events: r.events,
                      retryInMs,
                      err: err instanceof Error ? err.message : err,
                      ...spans?.logFields(token),
                    },
                    'flush failed; deltas kept for retry',
                  );
                },
              },
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
          provide: IdempotentBatchService,
          useFactory: (store: CounterStore, metrics: ServiceMetrics, registry: Metrics) =>
            createIdempotentBatchService(store, config, metrics, registry),
          inject: [CounterStore, ServiceMetrics, Metrics],
        },
        KeyedBatchHandler,
        IdempotencyLifecycle,
        Lifecycle,
      ],
    };
  }
}
