// Health in the @nestjs/terminus format. live: the process answers. ready: the
// store answers and the flush backlog is under its bound (else 503, so a load
// balancer sends traffic elsewhere). /health: everything.
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { CounterStore } from '../../business/ports';
import { IngestService } from '../../business/services';
import { withTimeout } from '../../foundation/health/with-timeout';

/** Readiness fails once the backlog reaches this share of MAX_PENDING_EVENTS. */
export const READY_BACKLOG_SHARE = 0.9;
const PROBE_TIMEOUT_MS = 1000;

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly store: CounterStore,
    private readonly ingest: IngestService,
  ) {}

  @Get()
  @HealthCheck()
  all() {
    return this.health.check([() => this.storeUp(), () => this.backlogUnderBound()]);
  }

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.storeUp(), () => this.backlogUnderBound()]);
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
