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
import { ApiRoute, json } from '../openapi/api-route.decorator';
import { ref } from '../openapi/schemas';

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

  @ApiRoute({
    tag: 'Operations',
    summary: 'Health: the store, the flush backlog, the cache and the change feed',
    description: 'Every check; 503 with the same shape when one is down.',
    ok: { 200: { description: 'Every check is up.', content: json(ref('Health')) } },
    errors: [],
    unavailable: true,
  })
  @Get()
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  all() {
    return this.health.check([
      ...this.withCache([() => this.storeUp(), () => this.backlogUnderBound()]),
      () => this.changes(),
      () => this.webhooks(),
    ]);
  }

  @ApiRoute({
    tag: 'Operations',
    summary: 'Liveness: the process answers',
    description: 'Always 200 while the process serves.',
    ok: { 200: { description: 'Every check is up.', content: json(ref('Health')) } },
    errors: [],
  })
  @Get('live')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  live() {
    return this.health.check([]);
  }

  @ApiRoute({
    tag: 'Operations',
    summary: 'Readiness: the store answers and the backlog is under its bound',
    description: '503 while the store is unreachable or the flush backlog is over 90% of MAX_PENDING_EVENTS, so a load balancer sends traffic elsewhere.',
    ok: { 200: { description: 'Every check is up.', content: json(ref('Health')) } },
    errors: [],
    unavailable: true,
  })
  @Get('ready')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
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
