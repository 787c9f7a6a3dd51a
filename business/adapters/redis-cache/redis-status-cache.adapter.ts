// The Redis status cache (ioredis): domain counts in Redis, read with MGET and
// merged by a Lua script (scripts.ts), behind a circuit breaker. It runs on one
// Redis (`url`) or on a Redis Cluster (`clusterNodes`); key-layout.ts says how
// keys are grouped so that every script call stays in one hash slot.
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
//
// On a cluster, a read is one MGET per slot group and a merge one script call
// per slot group (ioredis routes each to its master; calls to one master share
// its connection, so they are pipelined on the wire). Every group has its own
// generation key; invalidate() sets them all to one new token and fails unless
// all were set. A group whose master restarted empty adopts a fresh token, so
// merges spanning it are refused once ("stale"), the node invalidates, and the
// groups agree again: a safe and self-healing outcome (see scripts.ts).
import { randomBytes } from 'node:crypto';
import Redis, { ChainableCommander, Cluster, ClusterNode, RedisOptions } from 'ioredis';
import { Counts, DomainCounts } from '../../models';
import { CacheMerge, CacheRead, CacheState, CacheUnavailableError, StatusCache } from '../../ports';
import { withTimeout } from '../../../foundation/health/with-timeout';
import { BreakerState, CircuitBreaker } from '../../../foundation/resilience/circuit-breaker';
import { CacheObserver, CacheOp } from './cache-observer';
import { KeyLayout } from './key-layout';
import { MERGE_SCRIPT } from './scripts';

/** Slot groups on a cluster (key-layout.ts); one Redis needs one. */
export const CLUSTER_SLOT_GROUPS = 64;

export interface RedisStatusCacheOptions {
  /** One Redis (redis:// or rediss://); give either this or clusterNodes. */
  url?: string;
  /** Seed nodes of a Redis Cluster ("host:port"); ioredis learns the rest. */
  clusterNodes?: readonly string[];
  /** Slot groups (key-layout.ts); default 1 on one Redis, CLUSTER_SLOT_GROUPS on a cluster. */
  slotGroups?: number;
  /** Expiry of entries without a bounce; entries with one (not catch-all) never expire. */
  ttlSeconds: number;
  /** Longest a lookup call may take, connection problems included. */
  timeoutMs: number;
  /** Prefix of every key ("ca:"): `<prefix>gen` and `<prefix>d:<domain>` (with a hash tag on a cluster). */
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

type Client = Redis | Cluster;

/** The merge script as an ioredis command (numkeys, keys…, args…). */
type ScriptedClient = Client & {
  catchallMerge(numKeys: number, keys: string[], args: string[]): Promise<MergeReply>;
};

interface ScriptedPipeline extends ChainableCommander {
  catchallMerge(numKeys: number, keys: string[], args: string[]): ScriptedPipeline;
}

const DEFAULT_PREFIX = 'ca:';

export class RedisStatusCache extends StatusCache {
  readonly kind = 'redis';
  private readonly reader: Client;
  private readonly writer: ScriptedClient;
  private readonly layout: KeyLayout;
  private readonly cluster: boolean;
  private readonly breaker: CircuitBreaker;
  private readonly observer: CacheObserver;
  private readonly maxKeys: number;
  private readonly openMs: number;
  private readonly tokenBase = randomBytes(6).toString('base64url');
  private tokenSeq = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private lastError: string | undefined;
  private closed = false;

  constructor(private readonly opts: RedisStatusCacheOptions) {
    super();
    if ((opts.url === undefined) === (opts.clusterNodes === undefined)) {
      throw new Error('the redis cache needs either a url or cluster nodes');
    }
    this.cluster = opts.clusterNodes !== undefined;
    this.layout = new KeyLayout(opts.keyPrefix ?? DEFAULT_PREFIX, opts.slotGroups ?? (this.cluster ? CLUSTER_SLOT_GROUPS : 1));
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
    const lookups: RedisOptions = { commandTimeout: opts.timeoutMs, connectionName: 'catchall-lookups' };
    // No commandTimeout on merges: it would be one value for merges of any size; each call has its own deadline.
    const merges: RedisOptions = { connectionName: 'catchall-merges' };
    if (opts.clusterNodes) {
      const nodes = opts.clusterNodes.map(parseNode);
      // Node connections do not reconnect on their own (ioredis' cluster default): the
      // cluster client refreshes its slot map and reconnects through it.
      const { retryStrategy, ...nodeOptions } = common;
      const cluster = (redisOptions: RedisOptions) =>
        new Cluster(nodes, {
          redisOptions: { ...nodeOptions, ...redisOptions },
          enableOfflineQueue: false,
          // Off on both: an auto-pipeline mixes slots of one master, and ioredis
          // follows a MOVED reply for a pipeline only when every command in it got
          // the same one (after a master restarts, they do not). Commands to one
          // master still share its connection, so they are pipelined on the wire.
          enableAutoPipelining: false,
          clusterRetryStrategy: retryStrategy,
          // A dead master is not waited for: its slots fail fast and the breaker takes over.
          retryDelayOnClusterDown: 0,
          retryDelayOnTryAgain: 0,
          maxRedirections: 4,
          slotsRefreshTimeout: Math.max(1000, opts.timeoutMs),
        });
      this.reader = cluster(lookups);
      this.writer = cluster(merges) as ScriptedClient;
    } else {
      this.reader = new Redis(opts.url!, { ...common, ...lookups, enableAutoPipelining: true });
      this.writer = new Redis(opts.url!, { ...common, ...merges }) as ScriptedClient;
    }
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
    const ready = (client: Client) =>
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
    return this.layout.groups === 1 ? this.getManyAtOnce(names) : this.getManyByGroup(names);
  }

  /** One Redis: one MGET of the generation key and every domain key (atomic). */
  private async getManyAtOnce(names: readonly string[]): Promise<CacheRead> {
    const keys = [this.layout.genKey(0)];
    for (const name of names) keys.push(this.layout.domainKey(name, 0));
    const reply = await this.call('read', this.opts.timeoutMs, () => this.reader.mget(keys));
    const hits = new Map<string, Counts>();
    const generation = reply[0];
    if (generation === null) return { hits, generation: await this.startGeneration() };
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

  /** A cluster: one MGET per slot group, each atomic within its group. */
  private async getManyByGroup(names: readonly string[]): Promise<CacheRead> {
    const groups = names.length === 0 ? new Map([[0, [] as number[]]]) : this.layout.byGroup(names.length, (i) => names[i]);
    const batches: string[][] = [];
    for (const [group, indexes] of groups) {
      const keys = [this.layout.genKey(group)];
      for (const i of indexes) keys.push(this.layout.domainKey(names[i], group));
      batches.push(keys);
    }
    const replies = await this.call('read', this.opts.timeoutMs, () => Promise.all(batches.map((keys) => this.reader.mget(keys))));
    const hits = new Map<string, Counts>();
    let generation: string | undefined;
    let g = 0;
    for (const indexes of groups.values()) {
      // Each MGET is atomic: an entry counts only if it belongs to its group's generation.
      const reply = replies[g++];
      const current = reply[0];
      if (current === null) continue;
      generation ??= current;
      const prefix = `${current}:`;
      for (let k = 0; k < indexes.length; k++) {
        const entry = reply[k + 1];
        if (entry !== null && entry.startsWith(prefix)) {
          const counts = parseCounts(entry, prefix.length);
          if (counts) hits.set(names[indexes[k]], counts);
        }
      }
    }
    return { hits, generation: generation ?? (await this.startGeneration()) };
  }

  async merge(rows: readonly DomainCounts[], generation: string | undefined): Promise<CacheMerge> {
    // '' is never a generation token, so an unobserved generation never matches.
    const observed = generation ?? '';
    const ttl = String(this.opts.ttlSeconds);
    const candidate = this.newToken();
    const calls: Array<{ keys: string[]; args: string[] }> = [];
    const groups = rows.length === 0 ? new Map([[0, [] as number[]]]) : this.layout.byGroup(rows.length, (i) => rows[i].name);
    for (const [group, indexes] of groups) {
      for (let start = 0; start < indexes.length || start === 0; start += this.maxKeys) {
        const end = Math.min(indexes.length, start + this.maxKeys);
        const keys = [this.layout.genKey(group)];
        const args = [observed, ttl, candidate];
        for (let k = start; k < end; k++) {
          const row = rows[indexes[k]];
          keys.push(this.layout.domainKey(row.name, group));
          args.push(String(row.delivered), String(row.bounced));
        }
        calls.push({ keys, args });
      }
    }
    const deadline = this.opts.timeoutMs * Math.max(1, Math.ceil(rows.length / this.maxKeys));
    const replies = await this.call('merge', deadline, () => this.runMerges(calls));
    // A call may have met a newer generation than another: merged only if all were.
    const merged = replies.every((r) => Number(r[0]) === 1);
    const refused = replies.find((r) => Number(r[0]) !== 1) ?? replies[replies.length - 1];
    return { merged, generation: String(refused[1]) };
  }

  /** One Redis: one round trip for the whole flush; a cluster: one call per group, routed by ioredis. */
  private async runMerges(calls: Array<{ keys: string[]; args: string[] }>): Promise<MergeReply[]> {
    if (calls.length === 1) return [await this.writer.catchallMerge(calls[0].keys.length, calls[0].keys, calls[0].args)];
    if (this.cluster) return Promise.all(calls.map((c) => this.writer.catchallMerge(c.keys.length, c.keys, c.args)));
    // Each call is atomic on its own.
    const pipeline = this.writer.pipeline() as ScriptedPipeline;
    for (const c of calls) pipeline.catchallMerge(c.keys.length, c.keys, c.args);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, reply]) => {
      if (err) throw err;
      return reply as MergeReply;
    });
  }

  async invalidate(): Promise<string> {
    const generation = this.newToken();
    // Every group, or the call fails and the caller tries again later.
    await this.call('invalidate', this.opts.timeoutMs, () =>
      Promise.all(Array.from({ length: this.layout.groups }, (_, g) => this.writer.set(this.layout.genKey(g), generation))),
    );
    this.observer.invalidated?.('a write reached the store but perhaps not the cache');
    return generation;
  }

  async ping(): Promise<void> {
    // Not through the breaker: health reports what Redis says now. On a cluster a
    // PING reaches one node; touching every group's key reaches every master.
    const probes = this.cluster
      ? Array.from({ length: this.layout.groups }, (_, g) => this.reader.exists(this.layout.genKey(g)))
      : [this.reader.ping()];
    await withTimeout(Promise.all([...probes, this.writer.ping()]), this.opts.timeoutMs, 'redis');
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

  /**
   * A new or emptied Redis has no generation: set one, unless another node just
   * did. On a cluster, group 0's token is then given to every group that has none
   * (SET NX: a group that has one keeps it; invalidate() reconciles the rest).
   */
  private async startGeneration(): Promise<string> {
    const first = this.layout.genKey(0);
    const replies = await this.call('read', this.opts.timeoutMs, () =>
      this.writer.multi().set(first, this.newToken(), 'NX').get(first).exec(),
    );
    const [err, generation] = replies?.[1] ?? [new Error('no reply')];
    if (err || typeof generation !== 'string') throw err ?? new Error('redis returned no generation');
    if (this.layout.groups > 1) {
      await this.call('read', this.opts.timeoutMs, () =>
        Promise.all(Array.from({ length: this.layout.groups - 1 }, (_, g) => this.writer.set(this.layout.genKey(g + 1), generation, 'NX'))),
      );
    }
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

function parseNode(hostPort: string): ClusterNode {
  const at = hostPort.lastIndexOf(':');
  const port = Number(hostPort.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not a host:port: ${hostPort}`);
  return { host: hostPort.slice(0, at).replace(/^\[|\]$/g, ''), port };
}
