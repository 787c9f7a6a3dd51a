// The per-client event rate limit (RATE_LIMIT_EVENTS_PER_S, RATE_LIMIT_BURST):
// a token bucket per key name (per client address when auth is off) that
// counts events, so a batch of 10,000 events takes 10,000 tokens. Over it the
// request is refused whole with 429, Retry-After and the IETF draft RateLimit
// headers (draft-ietf-httpapi-ratelimit-headers: RateLimit-Policy, RateLimit).
import type { FastifyRequest } from 'fastify';
import { TokenBuckets } from '../../foundation/http/token-bucket';
import { AuthMetrics } from '../auth/auth-metrics';
import { callerOf } from '../auth/caller';
import type { AppConfig } from '../config';

const POLICY = 'events';

export class RateLimitedError extends Error {
  constructor(
    readonly events: number,
    readonly retryAfterSeconds: number,
    readonly headers: Record<string, string>,
    limit: string,
  ) {
    super(`rate limit exceeded: ${limit} per client; nothing was counted, retry in ${retryAfterSeconds} s`);
    this.name = 'RateLimitedError';
  }
}

export class EventRateLimit {
  private readonly buckets: TokenBuckets | undefined;
  private readonly policy: string;
  private readonly limit: string;

  constructor(config: Pick<AppConfig, 'RATE_LIMIT_EVENTS_PER_S' | 'RATE_LIMIT_BURST'>, private readonly metrics: AuthMetrics) {
    const rate = config.RATE_LIMIT_EVENTS_PER_S;
    const burst = config.RATE_LIMIT_BURST ?? rate;
    this.buckets = rate && burst ? new TokenBuckets(rate, burst) : undefined;
    this.policy = rate && burst ? `"${POLICY}";q=${burst};w=${Math.max(1, Math.round(burst / rate))}` : '';
    this.limit = `${rate} events per second (bursts of ${burst})`;
  }

  get enabled(): boolean {
    return this.buckets !== undefined;
  }

  /** Takes `events` tokens from the caller's bucket, or throws RateLimitedError. */
  take(request: FastifyRequest, events: number): void {
    if (!this.buckets || events === 0) return;
    const caller = callerOf(request);
    const result = this.buckets.take(caller.id, events);
    if (result.ok) return;
    this.metrics.limited(caller.key, events);
    throw new RateLimitedError(events, result.resetSeconds, {
      'retry-after': String(result.resetSeconds),
      'ratelimit-policy': this.policy,
      ratelimit: `"${POLICY}";r=${result.remaining};t=${result.resetSeconds}`,
    }, this.limit);
  }
}
