// The memory webhook state: cursors, leases and parked deliveries in this
// process only (STORE=memory), lost on exit like the memory feed itself. The
// parked list is bounded (the oldest are dropped); the counts per endpoint
// count those dropped too, until they are pruned by age. info() says it is not durable, for /health.
import { WebhookFailure, WebhookState, WebhookStateInfo } from '../../ports';

const DEFAULT_MAX_FAILURES = 10_000;

interface Lease {
  cursor: number;
  owner?: string;
  until: number;
}

export class MemoryWebhookState extends WebhookState {
  readonly kind = 'memory';
  private readonly leases = new Map<string, Lease>();
  private readonly parked: WebhookFailure[] = [];
  private readonly counts = new Map<string, number>();

  constructor(private readonly maxFailures = DEFAULT_MAX_FAILURES) {
    super();
  }

  async acquire(endpoint: string, owner: string, ttlMs: number): Promise<number | undefined> {
    const now = Date.now();
    const lease = this.leases.get(endpoint) ?? { cursor: 0, until: 0 };
    if (lease.owner !== undefined && lease.owner !== owner && lease.until > now) return undefined;
    this.leases.set(endpoint, { cursor: lease.cursor, owner, until: now + ttlMs });
    return lease.cursor;
  }

  async advance(endpoint: string, owner: string, cursor: number, ttlMs: number): Promise<boolean> {
    const lease = this.leases.get(endpoint);
    if (!lease || lease.owner !== owner) return false;
    lease.cursor = Math.max(lease.cursor, cursor);
    lease.until = Date.now() + ttlMs;
    return true;
  }

  async park(failure: WebhookFailure, owner: string, ttlMs: number): Promise<boolean> {
    if (!(await this.advance(failure.endpoint, owner, failure.changeId, ttlMs))) return false;
    this.parked.push({ ...failure });
    if (this.parked.length > this.maxFailures) this.parked.shift();
    this.counts.set(failure.endpoint, (this.counts.get(failure.endpoint) ?? 0) + 1);
    return true;
  }

  async release(endpoint: string, owner: string): Promise<void> {
    const lease = this.leases.get(endpoint);
    if (lease?.owner === owner) lease.owner = undefined;
  }

  async failures(limit: number): Promise<WebhookFailure[]> {
    return this.parked.slice(-limit).reverse().map((f) => ({ ...f }));
  }

  async pruneFailures(before: Date, batch: number): Promise<number> {
    // Oldest first: parked in time order, so expired ones are at the front.
    let n = 0;
    while (n < batch && n < this.parked.length && this.parked[n].at < before) n++;
    for (const f of this.parked.splice(0, n)) {
      const left = (this.counts.get(f.endpoint) ?? 1) - 1;
      if (left > 0) this.counts.set(f.endpoint, left);
      else this.counts.delete(f.endpoint);
    }
    return n;
  }

  async parkedCounts(): Promise<Map<string, number>> {
    return new Map(this.counts);
  }

  info(): WebhookStateInfo {
    return {
      durable: false,
      detail: { kind: 'memory', note: 'cursors and parked deliveries in this process only; lost on exit' },
    };
  }
}
