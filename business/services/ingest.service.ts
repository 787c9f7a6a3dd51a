// The ingest service: the write path of DESIGN §4. Events are coalesced into a
// pending map (domain → deltas); a flush swaps the map out and writes it to the
// store in one call. In durable mode flushes run back to back (group commit): the
// next one starts as soon as the previous one is stored, with whatever gathered
// meanwhile, and a request is answered only when the flush holding its event is
// stored. In buffered mode requests are answered at once and a flush runs every
// FLUSH_INTERVAL_MS. A failed flush keeps its deltas and is retried with backoff.
import { Counts, EventType } from '../models';
import { CounterStore, IngestObserver } from '../ports';
import { NotStoredError, OverloadedError, ShuttingDownError } from './errors';
import { FlushGeneration } from './flush-generation';

export type AckMode = 'durable' | 'buffered';

export interface IngestOptions {
  ackMode: AckMode;
  /** Longest an event lingers before a flush when traffic is light or in buffered mode. */
  flushIntervalMs: number;
  /** Largest number of domains written in one store call; bigger flushes are split. */
  flushMaxDomains: number;
  /** Bound on events not yet stored (pending + in flight); past it new events are refused. */
  maxPendingEvents: number;
  /** How long a durable request waits for its flush before it gets a 503. */
  ackTimeoutMs: number;
  /** First retry delay after a failed flush; doubles up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long close() keeps retrying to store what is left. */
  shutdownTimeoutMs: number;
  /**
   * Flushes that may be in flight at once. More than one lets the next batch
   * travel to the store while the previous one commits (pipelined group
   * commit); deltas commute, so their order does not matter.
   */
  maxConcurrentFlushes: number;
  /**
   * A flush starts beside flushes already in flight only while all of them
   * together hold at most this many domains. Small flushes are dominated by
   * the fixed cost of a round trip and a commit, which overlapping hides; a
   * large one costs per row, so running it beside another gains nothing, and
   * where both touch the same (hot) domains the second only waits on the
   * first one's row locks. Large batches therefore go one at a time and grow
   * instead, which coalesces more.
   */
  concurrentFlushMaxDomains: number;
  /** Most trace handles (see record) one flush carries to the observer; the rest are dropped. */
  maxTracesPerFlush: number;
}

export const DEFAULT_INGEST_OPTIONS: IngestOptions = {
  ackMode: 'durable',
  flushIntervalMs: 50,
  flushMaxDomains: 10_000,
  maxPendingEvents: 1_000_000,
  ackTimeoutMs: 5_000,
  retryBaseMs: 50,
  retryMaxMs: 2_000,
  shutdownTimeoutMs: 10_000,
  maxConcurrentFlushes: 4,
  concurrentFlushMaxDomains: 1_000,
  maxTracesPerFlush: 128,
};

export interface IngestStats {
  pendingEvents: number;
  pendingDomains: number;
  inFlightEvents: number;
  consecutiveFailures: number;
  flushing: boolean;
}

/** Mutable counts: the pending map is the hot path, so entries are updated in place. */
interface MutableCounts {
  delivered: number;
  bounced: number;
}

export class IngestService {
  private readonly opts: IngestOptions;
  private pending = new Map<string, MutableCounts>();
  private pendingEvents = 0;
  private pendingTraces: unknown[] = [];
  private inFlightEvents = 0;
  private inFlightDomains = 0;
  private generation = new FlushGeneration();
  private flushesInFlight = 0;
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly store: CounterStore,
    options: Partial<IngestOptions> = {},
    private readonly observer: IngestObserver = {},
  ) {
    this.opts = { ...DEFAULT_INGEST_OPTIONS, ...options };
  }

  get ackMode(): AckMode {
    return this.opts.ackMode;
  }

  get maxPendingEvents(): number {
    return this.opts.maxPendingEvents;
  }

  /**
   * Records one event for an already normalised domain. In durable mode the
   * returned promise resolves once the event is stored; in buffered mode nothing
   * is returned. Throws OverloadedError or ShuttingDownError synchronously.
   * `trace` is an opaque handle (the caller's span) handed to the observer when
   * the flush holding this event starts.
   */
  record(domain: string, type: EventType, trace?: unknown): Promise<void> | undefined {
    this.admit(1);
    this.add(domain, type, 1);
    if (trace !== undefined) this.addTrace(trace);
    this.observer.eventsAccepted?.(type, 1);
    return this.afterAdd();
  }

  /** Records a batch of already validated events as one unit (all admitted or none). */
  recordMany(events: ReadonlyArray<{ domain: string; type: EventType }>, trace?: unknown): Promise<void> | undefined {
    if (events.length === 0) return undefined;
    this.admit(events.length);
    if (trace !== undefined) this.addTrace(trace);
    let delivered = 0;
    for (const e of events) {
      this.add(e.domain, e.type, 1);
      if (e.type === 'delivered') delivered++;
    }
    if (delivered > 0) this.observer.eventsAccepted?.('delivered', delivered);
    if (events.length - delivered > 0) this.observer.eventsAccepted?.('bounced', events.length - delivered);
    return this.afterAdd();
  }

  /**
   * This node's deltas that are not in the store yet (pending, or kept after a
   * failed flush). A flush in flight is not included: until it commits the store
   * does not have it and after it commits the store does, so a read may briefly
   * miss it but never counts it twice.
   */
  unflushed(names: readonly string[]): Map<string, Counts> {
    const out = new Map<string, Counts>();
    if (this.pending.size === 0) return out;
    for (const name of names) {
      const c = this.pending.get(name);
      if (c) out.set(name, { delivered: c.delivered, bounced: c.bounced });
    }
    return out;
  }

  stats(): IngestStats {
    return {
      pendingEvents: this.pendingEvents,
      pendingDomains: this.pending.size,
      inFlightEvents: this.inFlightEvents,
      consecutiveFailures: this.consecutiveFailures,
      flushing: this.flushesInFlight > 0,
    };
  }

  /** Events accepted but not yet stored. */
  get backlog(): number {
    return this.pendingEvents + this.inFlightEvents;
  }

  /** Resolves when nothing is pending or in flight (tests, shutdown). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    this.scheduleNow();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops taking events and stores everything left, retrying for up to
   * shutdownTimeoutMs. Waiters whose events could not be stored are rejected.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const deadline = Date.now() + this.opts.shutdownTimeoutMs;
    this.clearTimers();
    while (!this.isIdle() && Date.now() < deadline) {
      // A store call that hangs must not hold shutdown past its deadline.
      const step = this.flushesInFlight === 0 ? this.flush() : sleep(5);
      await Promise.race([step, sleep(deadline - Date.now())]);
      if (!this.isIdle() && this.consecutiveFailures > 0) {
        await sleep(Math.min(this.backoffMs(), deadline - Date.now()));
      }
    }
    this.clearTimers();
    if (!this.isIdle()) {
      this.generation.fail(new NotStoredError('the store was unreachable during shutdown'));
      throw new NotStoredError(`${this.backlog} events were not stored before shutdown ended`);
    }
  }

  private admit(n: number): void {
    if (this.closed) throw new ShuttingDownError();
    if (this.pendingEvents + this.inFlightEvents + n > this.opts.maxPendingEvents) {
      this.observer.eventsRejected?.('overloaded', n);
      throw new OverloadedError(Math.max(1, Math.ceil(this.backoffMs() / 1000)));
    }
  }

  private add(domain: string, type: EventType, n: number): void {
    let c = this.pending.get(domain);
    if (c === undefined) {
      c = { delivered: 0, bounced: 0 };
      this.pending.set(domain, c);
    }
    if (type === 'delivered') c.delivered += n;
    else c.bounced += n;
    this.pendingEvents += n;
  }

  private addTrace(trace: unknown): void {
    if (this.pendingTraces.length < this.opts.maxTracesPerFlush) this.pendingTraces.push(trace);
  }

  private afterAdd(): Promise<void> | undefined {
    if (this.opts.ackMode === 'durable') {
      this.scheduleNow();
      // A generation's ack timer starts with its first waiter. While the store is
      // failing, one generation would gather requests for a long time and answer
      // the late ones 503 early, so a new generation (following the old one)
      // starts every tenth of the timeout: every request waits 90–100% of it.
      const armedAt = this.generation.armedAt;
      if (armedAt !== 0 && Date.now() - armedAt > this.opts.ackTimeoutMs / 10) {
        const next = new FlushGeneration();
        next.adopt(this.generation);
        this.generation = next;
      }
      return this.generation.waitFor(this.opts.ackTimeoutMs);
    }
    if (this.pending.size >= this.opts.flushMaxDomains) this.scheduleNow();
    else this.scheduleTimer();
    return undefined;
  }

  /** Flush on the next turn of the event loop, gathering what this turn brings. */
  private scheduleNow(): void {
    if (this.flushSlotsFull() || this.immediate || this.retryTimer) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      void this.flush();
    });
  }

  private scheduleTimer(): void {
    if (this.flushSlotsFull() || this.timer || this.immediate || this.retryTimer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.opts.flushIntervalMs);
  }

  private async flush(): Promise<void> {
    if (this.flushSlotsFull()) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.size === 0) {
      this.notifyIdle();
      return;
    }
    this.flushesInFlight++;
    const batch = this.pending;
    const events = this.pendingEvents;
    const generation = this.generation;
    const traces = this.pendingTraces;
    this.pending = new Map();
    this.pendingEvents = 0;
    this.pendingTraces = [];
    this.generation = new FlushGeneration();
    this.inFlightEvents += events;
    this.inFlightDomains += batch.size;

    const chunks = splitChunks(batch, this.opts.flushMaxDomains);
    const token = this.observer.flushStarted?.({ domains: batch.size, events, chunks: chunks.length, traces });
    const started = Date.now();
    const stored = await this.applyChunks(chunks);
    if (stored.failed === false) {
      this.consecutiveFailures = 0;
      this.flushesInFlight--;
      this.inFlightDomains -= batch.size;
      generation.succeed();
      this.observer.flushSucceeded?.(
        { domains: batch.size, events, durationMs: Date.now() - started, chunks: chunks.length },
        token,
      );
      this.afterFlush();
    } else {
      const err = stored.error;
      // Keep what was not stored: merge it back into the pending map and let this
      // generation's waiters follow the next one.
      const kept = chunks.filter((_, i) => !stored.done[i]);
      for (const chunk of kept) {
        for (const [name, c] of chunk) {
          if (c.delivered > 0) this.add(name, 'delivered', c.delivered);
          if (c.bounced > 0) this.add(name, 'bounced', c.bounced);
        }
      }
      // add() counted the merged events as pending; they are no longer in flight.
      for (const chunk of kept) this.inFlightEvents -= countEvents(chunk);
      for (const t of traces) this.addTrace(t);
      this.generation.adopt(generation);
      this.consecutiveFailures++;
      this.flushesInFlight--;
      this.inFlightDomains -= batch.size;
      const retryIn = this.backoffMs();
      this.observer.flushFailed?.(
        { domains: batch.size, events, durationMs: Date.now() - started, chunks: chunks.length },
        err,
        retryIn,
        token,
      );
      if (!this.closed && !this.retryTimer) {
        if (this.immediate) clearImmediate(this.immediate);
        if (this.timer) clearTimeout(this.timer);
        this.immediate = undefined;
        this.timer = undefined;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          void this.flush();
        }, retryIn);
      }
    }
  }

  /**
   * Stores the chunks of one flush, up to maxConcurrentFlushes at a time. They
   * hold different domains, so they never wait on each other's row locks, and
   * a large flush uses several connections (PostgreSQL: several backends)
   * instead of one after the other. Stops starting chunks after a failure.
   */
  private async applyChunks(
    chunks: Map<string, MutableCounts>[],
  ): Promise<{ failed: false } | { failed: true; error: unknown; done: boolean[] }> {
    const done = new Array<boolean>(chunks.length).fill(false);
    let failure: { error: unknown } | undefined;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < chunks.length && failure === undefined) {
        const i = next++;
        try {
          await this.store.apply(chunks[i], { totals: false });
          done[i] = true;
          this.inFlightEvents -= countEvents(chunks[i]);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    const workers = Math.min(chunks.length, this.opts.maxConcurrentFlushes);
    await Promise.all(Array.from({ length: workers }, worker));
    return failure === undefined ? { failed: false } : { failed: true, error: failure.error, done };
  }

  private afterFlush(): void {
    if (this.pending.size === 0) {
      this.notifyIdle();
      return;
    }
    if (this.closed) return;
    if (this.opts.ackMode === 'durable' || this.generation.hasWaiters || this.idleWaiters.length > 0) {
      this.scheduleNow();
    } else if (this.pending.size >= this.opts.flushMaxDomains) {
      this.scheduleNow();
    } else {
      this.scheduleTimer();
    }
  }

  /** Whether a flush of the pending map must wait for one in flight (see concurrentFlushMaxDomains). */
  private flushSlotsFull(): boolean {
    if (this.flushesInFlight === 0) return false;
    return (
      this.flushesInFlight >= this.opts.maxConcurrentFlushes ||
      this.inFlightDomains + this.pending.size > this.opts.concurrentFlushMaxDomains
    );
  }

  private backoffMs(): number {
    if (this.consecutiveFailures === 0) return this.opts.retryBaseMs;
    const exp = Math.min(this.consecutiveFailures - 1, 20);
    return Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** exp);
  }

  private isIdle(): boolean {
    return this.pending.size === 0 && this.flushesInFlight === 0;
  }

  private notifyIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.retryTimer = undefined;
    this.immediate = undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());
}

function splitChunks(batch: Map<string, MutableCounts>, max: number): Map<string, MutableCounts>[] {
  if (batch.size <= max) return [batch];
  const chunks: Map<string, MutableCounts>[] = [];
  let current = new Map<string, MutableCounts>();
  for (const [k, v] of batch) {
    current.set(k, v);
    if (current.size >= max) {
      chunks.push(current);
      current = new Map();
    }
  }
  if (current.size > 0) chunks.push(current);
  return chunks;
}

function countEvents(chunk: Map<string, MutableCounts>): number {
  let n = 0;
  for (const c of chunk.values()) n += c.delivered + c.bounced;
  return n;
}
