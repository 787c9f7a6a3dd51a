// The Redis status cache (ioredis): domain counts in Redis, read with one MGET
// and merged by a Lua script (scripts.ts), behind a circuit breaker.
//
// Redis is optional to the service, so no call waits for it for long: the
// offline queue is off (a disconnected client fails at once), commands are never
// retried or resent, every call has a deadline, and while the breaker is open
// calls fail at once with CacheUnavailableError. A timer probes a dead Redis
// every `openMs` until it answers again.
//
// Two connections: lookups use one with auto-pipelining (requests of the same
// tick share a round trip) and ioredis' commandTimeout = timeoutMs; merges,
// which carry up to a whole flush, use another, so that a big merge never sits
// in front of lookups in the client's queue. A merge's deadline grows with its
// size (timeoutMs per maxKeysPerCall rows): a healthy Redis merges 1000 rows in
// a few ms, and merges run beside the flushes, never inside them (see
// cached-counter-store.adapter.ts), so this never slows ingest.
import { randomBytes } from 'node:crypto';
import Redis, { ChainableCommander, RedisOptions } from 'ioredis';
import { Counts, DomainCounts } from '../../models';
import { CacheMerge, CacheRead, CacheState, CacheUnavailableError, StatusCache } from '../../ports';
import { withTimeout } from '../../../foundation/health/with-timeout';
import { BreakerState, CircuitBreaker } from '../../../foundation/resilience/circuit-breaker';
import { CacheObserver, CacheOp } from './cache-observer';
import { MERGE_SCRIPT } from './scripts';

export interface RedisStatusCacheOptions {
  url: string;
  /** Expiry of entries without a bounce; entries with one (not catch-all) never expire. */
  ttlSeconds: number;
  /** Longest a lookup call may take, connection problems included. */
  timeoutMs: number;
  /** Prefix of every key ("ca:"): `<prefix>gen` and `<prefix>d:<domain>`. */
  keyPrefix?: string;
  /** Consecutive failures that open the breaker (default 5). */
  failureThreshold?: number;
  /** How long the breaker stays open before a probe (default 1000 ms). */
  openMs?: number;
  /** Domain keys per script call; bigger merges become several calls in one pipeline (default 1000). */
  maxKeysPerCall?: number;
  observer?: CacheObserver;
  now?: () => number;
}

type MergeReply = [number, string];

/** The merge script as an ioredis command (numkeys, keys…, args…). */
interface ScriptedRedis extends Redis {
  catchallMerge(numKeys: number, keys: string[], args: string[]): Promise<MergeReply>;
}

interface ScriptedPipeline extends ChainableCommander {
  catchallMerge(numKeys: number, keys: string[], args: string[]): ScriptedPipeline;
}

const DEFAULT_PREFIX = 'ca:';

export class RedisStatusCache extends StatusCache {
  readonly kind = 'redis';
  private readonly reader: Redis;
  private readonly writer: ScriptedRedis;
  private readonly breaker: CircuitBreaker;
  private readonly observer: CacheObserver;
  private readonly genKey: string;
  private readonly domainPrefix: string;
  private readonly maxKeys: number;
  private readonly openMs: number;
  private readonly tokenBase = randomBytes(6).toString('base64url');
  private tokenSeq = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private lastError: string | undefined;
  private closed = false;

  constructor(private readonly opts: RedisStatusCacheOptions) {
    super();
    const prefix = opts.keyPrefix ?? DEFAULT_PREFIX;
    this.genKey = `${prefix}gen`;
    this.domainPrefix = `${prefix}d:`;
    this.maxKeys = opts.maxKeysPerCall ?? 1000;
    this.openMs = opts.openMs ?? 1000;
    this.observer = opts.observer ?? {};
    this.breaker = new CircuitBreaker({
      failureThreshold: opts.failureThreshold ?? 5,
      openMs: this.openMs,
      now: opts.now,
      onStateChange: (state, previous) => this.breakerChanged(state, previous),
    });
    const common: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: Math.max(1000, opts.timeoutMs),
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    };
    this.reader = new Redis(opts.url, {
      ...common,
      enableAutoPipelining: true,
      commandTimeout: opts.timeoutMs,
      connectionName: 'catchall-lookups',
    });
    // No commandTimeout here: it would be one value for merges of any size; each call has its own deadline.
    this.writer = new Redis(opts.url, { ...common, connectionName: 'catchall-merges' }) as ScriptedRedis;
    for (const client of [this.reader, this.writer]) {
      // Without a listener ioredis prints every failed reconnect; the breaker and the metrics report them instead.
      client.on('error', (err: Error) => {
        this.lastError = err.message;
      });
    }
    this.writer.defineCommand('catchallMerge', { lua: MERGE_SCRIPT });
  }

  /** Waits up to `waitMs` for both connections; false if they are not up by then (ioredis keeps trying). */
  async connected(waitMs: number): Promise<boolean> {
    const ready = (client: Redis) =>
      client.status === 'ready' ||
      new Promise<boolean>((resolve) => {
        const done = (ok: boolean) => {
          clearTimeout(timer);
          client.off('ready', onReady);
          resolve(ok);
        };
        const onReady = () => done(true);
        const timer = setTimeout(() => done(false), waitMs);
        client.on('ready', onReady);
      });
    const [a, b] = await Promise.all([ready(this.reader), ready(this.writer)]);
    return a && b;
  }

  async getMany(names: readonly string[]): Promise<CacheRead> {
    const keys = [this.genKey];
    for (const name of names) keys.push(this.domainPrefix + name);
    const reply = await this.call('read', this.opts.timeoutMs, () => this.reader.mget(keys));
    const hits = new Map<string, Counts>();
    const generation = reply[0] ?? (await this.startGeneration());
    if (reply[0] === null) return { hits, generation };
    const prefix = `${generation}:`;
    for (let i = 0; i < names.length; i++) {
      const entry = reply[i + 1];
      if (entry !== null && entry.startsWith(prefix)) {
        const counts = parseCounts(entry, prefix.length);
        if (counts) hits.set(names[i], counts);
      }
    }
    return { hits, generation };
  }

  async merge(rows: readonly DomainCounts[], generation: string | undefined): Promise<CacheMerge> {
    // '' is never a generation token, so an unobserved generation never matches.
    const observed = generation ?? '';
    const ttl = String(this.opts.ttlSeconds);
    const calls: Array<{ keys: string[]; args: string[] }> = [];
    for (let start = 0; start < rows.length || start === 0; start += this.maxKeys) {
      const end = Math.min(rows.length, start + this.maxKeys);
      const keys = [this.genKey];
      const args = [observed, ttl, this.newToken()];
      for (let i = start; i < end; i++) {
        const row = rows[i];
        keys.push(this.domainPrefix + row.name);
        args.push(String(row.delivered), String(row.bounced));
      }
      calls.push({ keys, args });
    }
    const replies = await this.call('merge', this.opts.timeoutMs * calls.length, async () => {
      if (calls.length === 1) return [await this.writer.catchallMerge(calls[0].keys.length, calls[0].keys, calls[0].args)];
      // One round trip for the whole flush; each call is atomic on its own.
      const pipeline = this.writer.pipeline() as ScriptedPipeline;
      for (const c of calls) pipeline.catchallMerge(c.keys.length, c.keys, c.args);
      const results = (await pipeline.exec()) ?? [];
      return results.map(([err, reply]) => {
        if (err) throw err;
        return reply as MergeReply;
      });
    });
    // A chunk may have met a newer generation than the one before it: merged only if all were.
    const merged = replies.every((r) => Number(r[0]) === 1);
    return { merged, generation: String(replies[replies.length - 1][1]) };
  }

  async invalidate(): Promise<string> {
    const generation = this.newToken();
    await this.call('invalidate', this.opts.timeoutMs, () => this.writer.set(this.genKey, generation));
    this.observer.invalidated?.('a write reached the store but perhaps not the cache');
    return generation;
  }

  async ping(): Promise<void> {
    // Not through the breaker: health reports what Redis says now.
    await withTimeout(Promise.all([this.reader.ping(), this.writer.ping()]), this.opts.timeoutMs, 'redis');
  }

  state(): CacheState {
    const detail: Record<string, string | number | boolean> = {
      connection: this.reader.status === this.writer.status ? this.reader.status : `${this.reader.status}/${this.writer.status}`,
      breaker: this.breaker.state,
    };
    if (this.breaker.state !== 'closed' && this.lastError) detail.lastError = this.lastError;
    return { available: this.breaker.state === 'closed', detail };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    await Promise.all(
      [this.reader, this.writer].map(async (client) => {
        try {
          await withTimeout(client.quit(), Math.max(1000, this.opts.timeoutMs), 'redis quit');
        } catch {
          client.disconnect();
        }
      }),
    );
  }

  /** Runs one call through the breaker, bounded by `deadlineMs`. */
  private async call<T>(op: CacheOp, deadlineMs: number, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new CacheUnavailableError('the cache is closed');
    if (!this.breaker.tryAcquire()) {
      this.observer.refused?.(op);
      throw new CacheUnavailableError('redis is unreachable (circuit breaker open)');
    }
    const started = performance.now();
    try {
      const result = await withTimeout(fn(), deadlineMs, 'redis');
      this.breaker.success();
      this.observer.called?.(op, performance.now() - started, true);
      return result;
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      this.breaker.failure();
      this.observer.called?.(op, performance.now() - started, false);
      this.observer.failed?.(op, err);
      throw err;
    }
  }

  /** A new or emptied Redis has no generation: set one, unless another node just did. */
  private async startGeneration(): Promise<string> {
    const replies = await this.call('read', this.opts.timeoutMs, () =>
      this.writer.multi().set(this.genKey, this.newToken(), 'NX').get(this.genKey).exec(),
    );
    const [err, generation] = replies?.[1] ?? [new Error('no reply')];
    if (err || typeof generation !== 'string') throw err ?? new Error('redis returned no generation');
    return generation;
  }

  private breakerChanged(state: BreakerState, previous: BreakerState): void {
    this.observer.breakerChanged?.(state, previous);
    if (state === 'open') this.scheduleProbe();
  }

  /** While open, ping Redis every openMs so that the cache comes back without waiting for traffic. */
  private scheduleProbe(): void {
    if (this.closed || this.probeTimer) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      if (this.closed || this.breaker.state !== 'open') return;
      this.call('probe', this.opts.timeoutMs, () => Promise.all([this.reader.ping(), this.writer.ping()])).then(
        () => undefined,
        () => this.scheduleProbe(),
      );
    }, this.openMs);
    this.probeTimer.unref();
  }

  /** A token never used before by any process (random base + sequence): generations are never reused. */
  private newToken(): string {
    return `${this.tokenBase}${(this.tokenSeq++).toString(36)}`;
  }
}

function parseCounts(entry: string, from: number): Counts | undefined {
  const sep = entry.indexOf(':', from);
  if (sep < 0) return undefined;
  const delivered = Number(entry.slice(from, sep));
  const bounced = Number(entry.slice(sep + 1));
  if (!Number.isSafeInteger(delivered) || !Number.isSafeInteger(bounced)) return undefined;
  return { delivered, bounced };
}
