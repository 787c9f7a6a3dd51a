// Health in the @nestjs/terminus format. live: the process answers. ready: the
// store answers and the flush backlog is under its bound (else 503, so a load
// balancer sends traffic elsewhere). /health: everything. The cache, when there
// is one, is reported but never fails a check: without it the service is
// slower, not down (its details say `degraded: true`). The change feed and the
// webhooks are reported the same way: where their state lives (memory: this
// process only).
import { Controller, Get, Inject, Optional } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorFunction,
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { ChangeFeed, CounterStore, StatusCache, WebhookState } from '../../business/ports';
import { IngestService, WebhookDeliverer } from '../../business/services';
import { withTimeout } from '../../foundation/health/with-timeout';

/** Readiness fails once the backlog reaches this share of MAX_PENDING_EVENTS. */
const READY_BACKLOG_SHARE = 0.9;
const PROBE_TIMEOUT_MS = 1000;

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly store: CounterStore,
    private readonly ingest: IngestService,
    @Inject(ChangeFeed) private readonly feed: ChangeFeed,
    @Optional() @Inject(StatusCache) private readonly cache: StatusCache | null = null,
    @Optional() @Inject(WebhookState) private readonly webhookState: WebhookState | null = null,
    @Optional() @Inject(WebhookDeliverer) private readonly deliverer: WebhookDeliverer | null = null,
  ) {}

  @Get()
  @HealthCheck()
  all() {
    return this.health.check([
      ...this.withCache([() => this.storeUp(), () => this.backlogUnderBound()]),
      () => this.changes(),
      () => this.webhooks(),
    ]);
  }

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check(this.withCache([() => this.storeUp(), () => this.backlogUnderBound()]));
  }

  private withCache(checks: HealthIndicatorFunction[]): HealthIndicatorFunction[] {
    const cache = this.cache;
    return cache ? [...checks, () => this.cacheState(cache)] : checks;
  }

  /** Always "up" for terminus; `degraded` says whether lookups and flushes use the cache right now. */
  private async cacheState(cache: StatusCache): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('cache');
    const { available, detail } = cache.state();
    try {
      await withTimeout(cache.ping(), PROBE_TIMEOUT_MS, `the ${cache.kind} cache`);
      return check.up({ kind: cache.kind, reachable: true, degraded: !available, ...detail });
    } catch (err) {
      return check.up({
        kind: cache.kind,
        reachable: false,
        degraded: true,
        ...detail,
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }

  private async storeUp(): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('store');
    try {
      await withTimeout(this.store.ping(), PROBE_TIMEOUT_MS, `the ${this.store.kind} store`);
      return check.up({ kind: this.store.kind });
    } catch (err) {
      return check.down({ kind: this.store.kind, message: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Always "up": says where the change feed lives (memory: this process only, bounded). */
  private changes(): HealthIndicatorResult {
    const { durable, detail } = this.feed.state();
    return this.indicators.check('changes').up({ durable, ...detail });
  }

  /** Always "up": how many endpoints this node serves and where their delivery state lives (memory: this process only). */
  private webhooks(): HealthIndicatorResult {
    const check = this.indicators.check('webhooks');
    const endpoints = this.deliverer?.endpoints.length ?? 0;
    if (!this.webhookState) return check.up({ endpoints });
    const { durable, detail } = this.webhookState.info();
    return check.up({ endpoints, durable, ...detail });
  }

  private backlogUnderBound(): HealthIndicatorResult {
    const check = this.indicators.check('ingest');
    const stats = this.ingest.stats();
    const bound = Math.floor(this.ingest.maxPendingEvents * READY_BACKLOG_SHARE);
    const data = {
      backlog: this.ingest.backlog,
      bound,
      consecutiveFlushFailures: stats.consecutiveFailures,
    };
    return this.ingest.backlog < bound ? check.up(data) : check.down(data);
  }
}
