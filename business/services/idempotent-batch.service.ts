// Idempotent batches (POST /events with an Idempotency-Key, DESIGN §2): a
// batch is applied at most once per key within the key's TTL, on any node.
//
// A keyed batch bypasses the ingest service's coalescing pending map. It is
// already a batch (one store call for many events), and its key must commit in
// the same transaction as its own counts: once its deltas were merged into the
// shared map they would be flushed (and, on failure, retried) together with
// other requests' events, and no transaction could tie the key to exactly
// this batch's counts. So it goes to the IdempotentBatchStore directly.
//
// Concurrent requests with one key: on this node the second waits for the
// first (an in-process promise per key) and then asks the store, which answers
// with the recorded outcome; on another node the store itself makes it wait
// (PostgreSQL: the key's row lock). Waiting is bounded by waitMs: past it, a
// request still behind the first one on this node gets IdempotencyKeyInFlightError
// (409), and one whose own store call has not answered gets AckTimeoutError
// (503). Either way nothing was acknowledged and a retry with the same key is
// safe: it is applied once, or replayed.
import { Counts, EventType } from '../models';
import { IdempotencyKeysFullError, IdempotentBatchStore, KeyedOutcome, StoredAnswer } from '../ports';
import {
  AckTimeoutError,
  IdempotencyKeyInFlightError,
  IdempotencyKeyReusedError,
  NotStoredError,
  OverloadedError,
  ShuttingDownError,
} from './errors';

export interface IdempotentBatchOptions {
  /** How long a key is remembered (IDEMPOTENCY_TTL_S). */
  ttlSeconds: number;
  /** Longest a request waits for its outcome (or for the first request with its key). */
  waitMs: number;
  /** Keyed batches in flight at once on this node (each holds a store connection); more wait up to waitMs, then 503. */
  maxInFlight: number;
  /** How often expired keys are deleted, and how many per statement. */
  pruneIntervalMs: number;
  pruneBatch: number;
}

const DEFAULT_IDEMPOTENT_BATCH_OPTIONS: IdempotentBatchOptions = {
  ttlSeconds: 86_400,
  waitMs: 5_000,
  maxInFlight: 8,
  pruneIntervalMs: 60_000,
  pruneBatch: 1_000,
};

/** Most prune statements one tick runs (bounded work; the next tick goes on). */
const MAX_PRUNE_ROUNDS = 100;

export interface KeyedAnswer extends StoredAnswer {
  /** True when this is the recorded answer of an earlier request with the key. */
  replayed: boolean;
}

export type KeyedRequestOutcome =
  | 'applied'
  | 'replayed'
  | 'reused' // 422
  | 'in_flight' // 409
  | 'timeout' // 503, may still be applied
  | 'overloaded' // 503, not applied
  | 'shutting_down'
  | 'not_stored';

export interface IdempotentBatchObserver {
  /** Events of a keyed batch that was applied (not replayed). */
  eventsAccepted?(type: EventType, n: number): void;
  /** How each keyed request ended. */
  outcome?(outcome: KeyedRequestOutcome): void;
  pruned?(keys: number): void;
  pruneFailed?(err: unknown): void;
}

interface InFlight {
  fingerprint: string;
  done: Promise<unknown>;
}

export class IdempotentBatchService {
  private readonly opts: IdempotentBatchOptions;
  private readonly inFlight = new Map<string, InFlight>();
  /** Store calls running (a timed-out request's call runs on and keeps its slot). */
  private running = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private pruning: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: IdempotentBatchStore,
    options: Partial<IdempotentBatchOptions> = {},
    private readonly observer: IdempotentBatchObserver = {},
  ) {
    this.opts = { ...DEFAULT_IDEMPOTENT_BATCH_OPTIONS, ...options };
  }

  /**
   * Applies already validated events once for `key`, or answers what the first
   * request with that key was answered. `fingerprint` identifies the request:
   * the same key with another fingerprint is IdempotencyKeyReusedError.
   */
  async submit(key: string, fingerprint: string, events: ReadonlyArray<{ domain: string; type: EventType }>): Promise<KeyedAnswer> {
    try {
      const answer = await this.run(key, fingerprint, events);
      this.observer.outcome?.(answer.replayed ? 'replayed' : 'applied');
      return answer;
    } catch (err) {
      this.observer.outcome?.(outcomeOf(err));
      throw err;
    }
  }

  private async run(key: string, fingerprint: string, events: ReadonlyArray<{ domain: string; type: EventType }>): Promise<KeyedAnswer> {
    if (this.closed) throw new ShuttingDownError();
    const deadline = Date.now() + this.opts.waitMs;
    for (let current = this.inFlight.get(key); current; current = this.inFlight.get(key)) {
      if (current.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
      const left = deadline - Date.now();
      if (left <= 0 || !(await settlesWithin(current.done, left))) throw new IdempotencyKeyInFlightError();
    }
    const answer: StoredAnswer = { status: 200, body: JSON.stringify({ accepted: events.length }) };
    const apply = async (): Promise<KeyedOutcome> => {
      await this.slot(deadline);
      try {
        return await this.store.applyOnce({ key, fingerprint, deltas: toDeltas(events), answer, ttlSeconds: this.opts.ttlSeconds });
      } finally {
        this.release();
      }
    };
    // Registered in the same turn as the check above, so a duplicate always finds it.
    const done = apply();
    const entry: InFlight = { fingerprint, done };
    this.inFlight.set(key, entry);
    // The entry outlives a request that timed out: a retry waits for the store's outcome.
    done.then(
      (outcome) => {
        if (outcome.kind === 'applied') this.countAccepted(events);
      },
      () => undefined,
    ).finally(() => {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    });
    let outcome: KeyedOutcome;
    try {
      const left = Math.max(0, deadline - Date.now());
      if (!(await settlesWithin(done, left))) throw new AckTimeoutError(this.opts.waitMs);
      outcome = await done;
    } catch (err) {
      if (err instanceof AckTimeoutError || err instanceof OverloadedError || err instanceof IdempotencyKeysFullError) throw err;
      throw new NotStoredError(err instanceof Error ? err.message : String(err));
    }
    if (outcome.kind === 'applied') return { ...answer, replayed: false };
    if (outcome.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
    return { ...outcome.answer, replayed: true };
  }

  /**
   * Takes one of maxInFlight slots, waiting (until the deadline) for one to
   * free. Refusing at once instead made a crowd of clients spin on fast 503s
   * and cut the accepted rate to a fifth (docs/reliability.md); a waiting
   * request holds only its parsed batch, and connections are capped.
   */
  private async slot(deadline: number): Promise<void> {
    while (this.running >= this.opts.maxInFlight) {
      const left = deadline - Date.now();
      if (left <= 0) throw new OverloadedError(1);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          const i = this.slotWaiters.indexOf(wake);
          if (i >= 0) this.slotWaiters.splice(i, 1);
          resolve();
        }, left);
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.slotWaiters.push(wake);
      });
    }
    this.running++;
  }

  private release(): void {
    this.running--;
    this.slotWaiters.shift()?.();
  }

  /** Starts deleting expired keys every pruneIntervalMs (a timer that does not keep the process up). */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.pruneNow(), this.opts.pruneIntervalMs);
    this.timer.unref();
  }

  /** Deletes expired keys in bounded statements; resolves with how many. Never throws. */
  pruneNow(): Promise<void> {
    if (!this.pruning) {
      this.pruning = this.prune().finally(() => {
        this.pruning = undefined;
      });
    }
    return this.pruning;
  }

  /**
   * Stops pruning and takes no new batches (ShuttingDownError). Batches in
   * flight go on: their requests are drained by the HTTP server before the
   * store closes, and one that is cut off is simply not acknowledged.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.pruning;
  }

  private async prune(): Promise<void> {
    let total = 0;
    try {
      for (let round = 0; round < MAX_PRUNE_ROUNDS && !this.closed; round++) {
        const n = await this.store.prune(this.opts.pruneBatch);
        total += n;
        if (n < this.opts.pruneBatch) break;
      }
    } catch (err) {
      this.observer.pruneFailed?.(err);
    }
    if (total > 0) this.observer.pruned?.(total);
  }

  private countAccepted(events: ReadonlyArray<{ type: EventType }>): void {
    let delivered = 0;
    for (const e of events) if (e.type === 'delivered') delivered++;
    if (delivered > 0) this.observer.eventsAccepted?.('delivered', delivered);
    if (events.length > delivered) this.observer.eventsAccepted?.('bounced', events.length - delivered);
  }
}

function outcomeOf(err: unknown): KeyedRequestOutcome {
  if (err instanceof IdempotencyKeyReusedError) return 'reused';
  if (err instanceof IdempotencyKeyInFlightError) return 'in_flight';
  if (err instanceof AckTimeoutError) return 'timeout';
  if (err instanceof OverloadedError || err instanceof IdempotencyKeysFullError) return 'overloaded';
  if (err instanceof ShuttingDownError) return 'shutting_down';
  return 'not_stored';
}

function toDeltas(events: ReadonlyArray<{ domain: string; type: EventType }>): Map<string, Counts> {
  const deltas = new Map<string, Counts>();
  for (const e of events) {
    let c = deltas.get(e.domain);
    if (!c) {
      c = { delivered: 0, bounced: 0 };
      deltas.set(e.domain, c);
    }
    c[e.type]++;
  }
  return deltas;
}

/** Whether `p` settles (either way) within ms. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
