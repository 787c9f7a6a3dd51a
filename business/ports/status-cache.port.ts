// The status-cache port: a fast, shared, possibly stale view of domain counts in
// front of the counter store. Writes merge monotonically (higher status rank and
// larger counts win), so a late or out-of-order write never moves a status back.
// A cache is best-effort: every method may fail, and callers fall back to the store.
//
// Entries belong to a generation. invalidate() starts a new one, which turns every
// older entry into a miss at once; a caller does that when a write reached the
// store but not the cache. So that no entry of the new generation is built from
// data older than that write, merge() takes the generation its caller observed
// *before* it read or wrote the store, and writes nothing if the cache has moved
// on since (the whole argument: business/adapters/redis-cache/cached-counter-store.adapter.ts).
import { Counts, DomainCounts } from '../models';

/** What a read found, and the generation it was answered under. */
export interface CacheRead {
  /** Counts of the current generation; a miss is absent. */
  hits: Map<string, Counts>;
  generation: string;
}

/** The outcome of a merge, and the generation the cache is at now. */
export interface CacheMerge {
  /** False when the cache had moved past the caller's generation: nothing was written. */
  merged: boolean;
  generation: string;
}

/** What health output says about a cache. */
export interface CacheState {
  /** False while calls are being skipped (the circuit breaker is open). */
  available: boolean;
  detail: Record<string, string | number | boolean>;
}

/** Thrown at once, without calling the cache, while the cache is known to be down. */
export class CacheUnavailableError extends Error {
  constructor(reason: string) {
    super(`the cache is not used: ${reason}`);
    this.name = 'CacheUnavailableError';
  }
}

export abstract class StatusCache {
  abstract readonly kind: string;

  /** Cached counts of the domains asked for, with the generation they belong to. */
  abstract getMany(names: readonly string[]): Promise<CacheRead>;

  /**
   * Merges totals read from (or returned by) the store into the cache, provided
   * the cache is still at `generation`, observed before those totals were read.
   * `undefined` (never observed) never matches.
   */
  abstract merge(rows: readonly DomainCounts[], generation: string | undefined): Promise<CacheMerge>;

  /** Starts a new generation, so that every entry written before is a miss. Returns it. */
  abstract invalidate(): Promise<string>;

  /** Resolves when the cache answers; throws with the reason when it does not. */
  abstract ping(): Promise<void>;

  /** For health output; cheap and synchronous. */
  abstract state(): CacheState;

  abstract close(): Promise<void>;
}
