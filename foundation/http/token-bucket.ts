// Per-client token buckets for rate limits that count units of work (events),
// not requests: a request of n units takes n tokens. A request larger than the
// burst is admitted when the bucket is full and leaves it in debt, so a big
// batch is never refused forever; the client then waits the debt out.
// @fastify/rate-limit counts requests, so it cannot say "10,000 events per
// second" of a client that sends batches (docs/benchmarks.md).

export interface TakeResult {
  ok: boolean;
  /** Tokens left after this request (0 when refused or in debt). */
  remaining: number;
  /** Seconds until the request would be admitted (refused), or until the bucket is full again (admitted). */
  resetSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    /** Tokens added per second. */
    readonly rate: number,
    /** Bucket size: the most tokens a client can spend at once. */
    readonly burst: number,
    /** Clients tracked at most (client IPs are unbounded): full buckets are dropped first. */
    private readonly maxClients = 100_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  take(client: string, n: number): TakeResult {
    const now = this.now();
    let bucket = this.buckets.get(client);
    if (!bucket) {
      if (this.buckets.size >= this.maxClients) this.evict(now);
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(client, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
      bucket.at = now;
    }
    const needed = Math.min(n, this.burst);
    if (bucket.tokens + 1e-9 < needed) {
      return { ok: false, remaining: 0, resetSeconds: Math.ceil((needed - bucket.tokens) / this.rate) };
    }
    bucket.tokens -= n;
    return {
      ok: true,
      remaining: Math.max(0, Math.floor(bucket.tokens)),
      resetSeconds: Math.ceil((this.burst - bucket.tokens) / this.rate),
    };
  }

  get size(): number {
    return this.buckets.size;
  }

  /** A full bucket is the same as none; if every bucket is in use, the oldest go. */
  private evict(now: number): void {
    for (const [client, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(client);
    }
    for (const client of this.buckets.keys()) {
      if (this.buckets.size < this.maxClients) break;
      this.buckets.delete(client);
    }
  }
}
