// Metrics of authentication and rate limits, labelled by key name: a small,
// bounded label set (the configured keys, plus "anonymous" when auth is off).
import { Counter, Registry } from 'prom-client';

const ANONYMOUS = 'anonymous';

export class AuthMetrics {
  private readonly requests: Counter<'key'>;
  private readonly refusals: Counter<'status' | 'key'>;
  private readonly limitedEvents: Counter<'key'>;
  private readonly limitedRequests: Counter<'key'>;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'catchall_api_key_requests_total',
      help: 'Requests admitted with an API key, by key name',
      labelNames: ['key'],
      registers: [registry],
    });
    this.refusals = new Counter({
      name: 'catchall_auth_refusals_total',
      help: 'Requests refused by authentication: 401 (no or unknown key) or 403 (key without the scope; key named)',
      labelNames: ['status', 'key'],
      registers: [registry],
    });
    this.limitedEvents = new Counter({
      name: 'catchall_rate_limited_events_total',
      help: 'Events refused with 429 by the per-client rate limit, by key name',
      labelNames: ['key'],
      registers: [registry],
    });
    this.limitedRequests = new Counter({
      name: 'catchall_rate_limited_requests_total',
      help: 'Requests refused with 429 by the per-client rate limit, by key name',
      labelNames: ['key'],
      registers: [registry],
    });
  }

  private readonly perKey = new Map<string, { inc(): void }>();

  /** Per request: the labelled child is looked up once per key, not hashed each time. */
  admitted(key: string): void {
    let child = this.perKey.get(key);
    if (!child) {
      child = this.requests.labels({ key });
      this.perKey.set(key, child);
    }
    child.inc();
  }

  refused(status: 401 | 403, key = ''): void {
    this.refusals.inc({ status: String(status), key });
  }

  limited(key: string | undefined, events: number): void {
    this.limitedEvents.inc({ key: key ?? ANONYMOUS }, events);
    this.limitedRequests.inc({ key: key ?? ANONYMOUS });
  }
}
