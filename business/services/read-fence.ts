// Reads that never go backwards on one node (DESIGN §2, §4). A lookup answers
// store totals + this node's waiting deltas. A delta is in exactly one of three
// places: waiting (pending or held, see PendingDeltas), in a flush in flight, or
// stored. A flush in flight is the trouble: the store may or may not show it,
// and the node cannot tell which, so the reader would count it zero times or
// twice, and successive reads could go down (946, then 930).
//
// The fence reads so that no flush holding the names read (D) overlaps the read:
//   (a) wait until no flush in flight holds any of D;
//   (b) register as a reader (a flush that takes any of D from now on marks it);
//   (c) read the store;
//   (d) synchronously once the store answered: if unmarked, answer
//       store + waiting(D) now; else go back to (a).
// Why that is exact: at (b) every local delta of D that ever left the waiting
// maps did so in a flush that has ended, so it is committed (read at (c), which
// starts after (b), sees it) or was merged back (waiting again). Unmarked at
// (d) means no delta of D left the waiting maps during (b..d), so each one that
// was waiting at (b) or arrived since is still waiting at (d) and not in the
// store: counted once. Deltas from other nodes only ever add. Monotone: a later
// read starts after an earlier one answered, so its store read sees everything
// the earlier one saw, and each local delta counted then is still waiting, or
// in a flush that ended before the later read's (b) (so in the store), or
// merged back.
//
// Starvation: a hot domain may be in every flush (back-to-back group commit),
// so (a) could wait forever and (d) could keep failing. After one optimistic
// try the reader holds D: new deltas of D wait in a side map no flush takes
// (their durable waiters wait for the flush after the hold ends); the reader
// waits for the flushes in flight and one more flush of what is pending for D,
// and then nothing can take D until it is done, so its next try succeeds
// (a failed flush merging D back is the only exception). Readers share a hold;
// one stops admitting new readers once its first reader is done, and later ones
// wait for it to end, so a hold lasts about two reads and writes of D are
// delayed by at most that plus one flush. With nothing in flight for D, a read
// costs one registration and the store read: the fast path.
import { Counts } from '../models';
import { ReadWaitTimeoutError } from './errors';
import { DeltaBatch, PendingDeltas } from './pending-deltas';

/** How many unheld tries a read makes before it holds its names. */
const OPTIMISTIC_TRIES = 1;

/** When a read's waiting must end (ms since epoch; 0 until it first waits). */
interface Deadline {
  at: number;
}

interface Flight {
  batch: DeltaBatch;
  done: Promise<void>;
}

interface Reader {
  names: readonly string[];
  disturbed: boolean;
}

interface Hold {
  readers: number;
  /** Set once a reader of this hold is done: later readers wait for `ended`. */
  closed: boolean;
  ended: Promise<void>;
  end(): void;
}

export interface FenceHooks {
  /** A flush of what is pending should start soon (a holder waits for it). */
  flushSoon(): void;
  /** A hold ended: the held deltas of these names just joined the pending map. */
  released(names: readonly string[]): void;
}

export class ReadFence {
  private readonly flights = new Set<Flight>();
  private readonly readers = new Set<Reader>();
  private readonly holds = new Map<string, Hold>();
  private nextFlush: { promise: Promise<void>; resolve(): void } | undefined;
  private closed = false;

  constructor(
    private readonly pending: PendingDeltas,
    private readonly hooks: FenceHooks,
    /** Longest a read waits for flushes (a store that hangs on writes must not hang reads). */
    private readonly maxWaitMs: number,
  ) {}

  /** A flush took `batch`; call what this returns when it has ended, stored or not. */
  flushStarted(batch: DeltaBatch): () => void {
    if (this.readers.size > 0) {
      for (const r of this.readers) if (!r.disturbed && holdsAny(batch, r.names)) r.disturbed = true;
    }
    if (this.nextFlush) {
      this.nextFlush.resolve();
      this.nextFlush = undefined;
    }
    let end!: () => void;
    const flight: Flight = { batch, done: new Promise((resolve) => (end = resolve)) };
    this.flights.add(flight);
    return () => {
      this.flights.delete(flight);
      end();
    };
  }

  /**
   * Reads the store for `names` with `read` and returns what it said with this
   * node's waiting deltas of those names, each delta counted exactly once.
   */
  async read<T>(names: readonly string[], read: () => Promise<T>): Promise<{ stored: T; local: Map<string, Counts> }> {
    let held = false;
    const deadline = { at: 0 };
    try {
      for (let tries = 0; ; tries++) {
        if (!held && tries >= OPTIMISTIC_TRIES && !this.closed) {
          await this.hold(names, deadline);
          held = true;
        }
        if (!(await this.quiet(names, held, deadline))) continue;
        const reader: Reader = { names, disturbed: false };
        this.readers.add(reader);
        let stored: T;
        try {
          stored = await read();
        } finally {
          this.readers.delete(reader);
        }
        if (!reader.disturbed) return { stored, local: this.pending.countsOf(names) };
      }
    } finally {
      if (held) this.unhold(names);
    }
  }

  /** Ends every hold for good (shutdown: the last flushes must take everything). */
  close(): void {
    this.closed = true;
    const names = [...this.holds.keys()];
    for (const hold of this.holds.values()) hold.end();
    this.holds.clear();
    for (const name of names) this.pending.release(name);
    if (names.length > 0) this.hooks.released(names);
  }

  /**
   * (a): waits until no flush in flight holds any of `names`. Unheld, it waits
   * for one flush at most and says whether that was enough; held, it also
   * waits for the flush of what is pending for `names` (nothing takes them after it).
   */
  private async quiet(names: readonly string[], held: boolean, deadline: Deadline): Promise<boolean> {
    for (let waits = 0; ; waits++) {
      const flight = this.flightHolding(names);
      const pendingToo = held && !this.closed && this.pending.hasAny(names);
      if (flight === undefined && !pendingToo) return true;
      if (!held && waits >= 1) return false;
      await this.within(flight !== undefined ? flight.done : this.flushStart(), deadline);
    }
  }

  /** Waits for `p`, but not past the read's deadline (set by its first wait). */
  private within(p: Promise<void>, deadline: Deadline): Promise<void> {
    if (deadline.at === 0) deadline.at = Date.now() + this.maxWaitMs;
    const left = deadline.at - Date.now();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ReadWaitTimeoutError(this.maxWaitMs)), Math.max(0, left));
      void p.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private flightHolding(names: readonly string[]): Flight | undefined {
    for (const f of this.flights) if (holdsAny(f.batch, names)) return f;
    return undefined;
  }

  private flushStart(): Promise<void> {
    this.nextFlush ??= deferred();
    const { promise } = this.nextFlush;
    this.hooks.flushSoon();
    return promise;
  }

  /** Joins or starts a hold on every name; waits first for closed holds to end. */
  private async hold(names: readonly string[], deadline: Deadline): Promise<void> {
    for (;;) {
      let closed: Hold | undefined;
      for (const name of names) {
        const h = this.holds.get(name);
        if (h?.closed) {
          closed = h;
          break;
        }
      }
      if (closed === undefined) break;
      await this.within(closed.ended, deadline);
    }
    if (this.closed) return;
    for (const name of names) {
      let h = this.holds.get(name);
      if (h === undefined) {
        const ended = deferred();
        h = { readers: 0, closed: false, ended: ended.promise, end: ended.resolve };
        this.holds.set(name, h);
        this.pending.hold(name);
      }
      h.readers++;
    }
  }

  private unhold(names: readonly string[]): void {
    const released: string[] = [];
    for (const name of names) {
      const h = this.holds.get(name);
      if (h === undefined) continue; // ended by close()
      h.closed = true;
      if (--h.readers > 0) continue;
      this.holds.delete(name);
      this.pending.release(name);
      released.push(name);
      h.end();
    }
    if (released.length > 0) this.hooks.released(released);
  }
}

function holdsAny(batch: ReadonlyMap<string, unknown>, names: readonly string[]): boolean {
  for (const name of names) if (batch.has(name)) return true;
  return false;
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
