// The ingest service: the write path of DESIGN §4. Events are coalesced into a
// pending map (domain → deltas); a flush swaps the map out and writes it to the
// store in one call. In durable mode flushes run back to back (group commit): the
// next one starts as soon as the previous one is stored, with whatever gathered
// meanwhile, and a request is answered only when the flush holding its event is
// stored. In buffered mode requests are answered at once and a flush runs every
// FLUSH_INTERVAL_MS. A failed flush keeps its deltas and is retried with backoff.
// This file is the scheduling; the pending map (PendingDeltas), the durable
// waiters (AckWaiters) and exact local reads (ReadFence) live beside it.
import { Counts, EventType } from '../models';
import { CounterStore, FlushResult, FlushStart, IngestObserver } from '../ports';
import { AckWaiters } from './ack-waiters';
import { NotStoredError, OverloadedError, ShuttingDownError } from './errors';
import { countEvents, DeltaBatch, PendingDeltas, splitChunks } from './pending-deltas';
import { ReadFence } from './read-fence';

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
}

const DEFAULT_INGEST_OPTIONS: IngestOptions = {
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
};

export interface IngestStats {
  pendingEvents: number;
  pendingDomains: number;
  inFlightEvents: number;
  consecutiveFailures: number;
  flushing: boolean;
  /** Domains that reads hold out of flushes right now (see ReadFence). */
  heldDomains: number;
}

export class IngestService {
  private readonly opts: IngestOptions;
  private readonly pending = new PendingDeltas();
  private readonly waiters: AckWaiters;
  private readonly fence: ReadFence;
  private inFlightEvents = 0;
  private inFlightDomains = 0;
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
    this.waiters = new AckWaiters(this.opts.ackTimeoutMs);
    this.fence = new ReadFence(
      this.pending,
      {
        flushSoon: () => this.scheduleNow(),
        released: (names) => {
          this.waiters.released(names);
          if (!this.closed) this.schedule();
        },
      },
      this.opts.ackTimeoutMs,
    );
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
   */
  record(domain: string, type: EventType): Promise<void> | undefined {
    this.admit(1);
    this.pending.add(domain, type, 1);
    this.observer.eventsAccepted?.(type, 1);
    if (this.opts.ackMode !== 'durable') return this.schedule();
    this.scheduleNow();
    return this.pending.isHeld(domain) ? this.waiters.waitHeld(domain) : this.waiters.wait();
  }

  /** Records a batch of already validated events as one unit (all admitted or none). */
  recordMany(events: ReadonlyArray<{ domain: string; type: EventType }>): Promise<void> | undefined {
    if (events.length === 0) return undefined;
    this.admit(events.length);
    let delivered = 0;
    let held: Set<string> | undefined;
    for (const e of events) {
      this.pending.add(e.domain, e.type, 1);
      if (e.type === 'delivered') delivered++;
      if (this.pending.isHeld(e.domain)) (held ??= new Set()).add(e.domain);
    }
    if (delivered > 0) this.observer.eventsAccepted?.('delivered', delivered);
    if (events.length - delivered > 0) this.observer.eventsAccepted?.('bounced', events.length - delivered);
    if (this.opts.ackMode !== 'durable') return this.schedule();
    this.scheduleNow();
    if (held === undefined) return this.waiters.wait();
    // Some events wait for a hold to end: the request waits for every flush that holds one of its events.
    const acks = [...held].map((d) => this.waiters.waitHeld(d));
    if (held.size < events.length && events.some((e) => !held.has(e.domain))) acks.push(this.waiters.wait());
    return Promise.all(acks).then(() => undefined);
  }

  /**
   * Reads the store with `read` for `names` and adds this node's deltas not in
   * the store yet, each exactly once (see ReadFence): successive reads on this
   * node never go down.
   */
  readWithLocal<T>(names: readonly string[], read: () => Promise<T>): Promise<{ stored: T; local: Map<string, Counts> }> {
    return this.fence.read(names, read);
  }

  stats(): IngestStats {
    return {
      pendingEvents: this.pending.events,
      pendingDomains: this.pending.domains,
      inFlightEvents: this.inFlightEvents,
      consecutiveFailures: this.consecutiveFailures,
      flushing: this.flushesInFlight > 0,
      heldDomains: this.pending.holds,
    };
  }

  /** Events accepted but not yet stored. */
  get backlog(): number {
    return this.pending.events + this.inFlightEvents;
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
    this.fence.close();
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
      this.waiters.failAll(new NotStoredError('the store was unreachable during shutdown'));
      throw new NotStoredError(`${this.backlog} events were not stored before shutdown ended`);
    }
  }

  private admit(n: number): void {
    if (this.closed) throw new ShuttingDownError();
    if (this.backlog + n > this.opts.maxPendingEvents) {
      this.observer.eventsRejected?.('overloaded', n);
      throw new OverloadedError(Math.max(1, Math.ceil(this.backoffMs() / 1000)));
    }
  }

  /** Takes the pending map and stores it; acknowledges its waiters or keeps its deltas for a retry. */
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
    const { batch, events } = this.pending.take();
    const generation = this.waiters.take();
    const ended = this.fence.flushStarted(batch);
    this.flushesInFlight++;
    this.inFlightEvents += events;
    this.inFlightDomains += batch.size;

    const chunks = splitChunks(batch, this.opts.flushMaxDomains);
    const start: FlushStart = { domains: batch.size, events, chunks: chunks.length };
    // Written once, whatever the observer does; its failure is not the flush's.
    let writing: Promise<FlushResult> | undefined;
    const write = (): Promise<FlushResult> => (writing ??= this.write(start, chunks));
    if (this.observer.aroundFlush) await this.observer.aroundFlush(start, write).catch(() => undefined);
    const result = await write();

    this.flushesInFlight--;
    this.inFlightDomains -= batch.size;
    ended();
    if (result.ok) {
      generation.succeed();
      this.afterFlush();
    } else {
      // Its waiters follow the next flush, which stores the deltas merged back.
      this.waiters.putBack(generation);
      this.retryIn(result.retryInMs);
    }
  }

  /** Stores the chunks; on failure merges back what was not stored. Never rejects. */
  private async write(start: FlushStart, chunks: DeltaBatch[]): Promise<FlushResult> {
    const began = Date.now();
    const failure = await this.applyChunks(chunks);
    const report = { ...start, durationMs: Date.now() - began };
    if (failure === undefined) {
      this.consecutiveFailures = 0;
      return { ok: true, report };
    }
    chunks.forEach((chunk, i) => {
      if (failure.done[i]) return;
      this.pending.mergeBack(chunk);
      this.inFlightEvents -= countEvents(chunk);
    });
    this.consecutiveFailures++;
    return { ok: false, report, error: failure.error, retryInMs: this.backoffMs() };
  }

  /**
   * Stores the chunks of one flush, up to maxConcurrentFlushes at a time. They
   * hold different domains, so they never wait on each other's row locks, and
   * a large flush uses several connections (PostgreSQL: several backends)
   * instead of one after the other. Stops starting chunks after a failure.
   */
  private async applyChunks(chunks: DeltaBatch[]): Promise<{ error: unknown; done: boolean[] } | undefined> {
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
    return failure === undefined ? undefined : { error: failure.error, done };
  }

  private afterFlush(): void {
    if (this.pending.size === 0) {
      this.notifyIdle();
      return;
    }
    if (this.closed) return;
    if (this.waiters.hasWaiters || this.idleWaiters.length > 0) this.scheduleNow();
    else this.schedule();
  }

  /** Durable: flush on the next turn. Buffered: within FLUSH_INTERVAL_MS, or now once the map is large. */
  private schedule(): undefined {
    if (this.opts.ackMode === 'durable' || this.pending.size >= this.opts.flushMaxDomains) this.scheduleNow();
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

  private retryIn(ms: number): void {
    if (this.closed || this.retryTimer) return;
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, ms);
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
    return this.pending.empty && this.flushesInFlight === 0;
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
