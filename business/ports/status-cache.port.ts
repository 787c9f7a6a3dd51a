// The status-cache port: a fast, shared, possibly stale view of domain counts in
// front of the counter store. Writes merge monotonically (higher status rank and
// larger counts win), so a late or out-of-order write never moves a status back.
// A cache is best-effort: every method may fail, and callers fall back to the store.
import { Counts, DomainCounts } from '../models';

export abstract class StatusCache {
  abstract readonly kind: string;

  /** Cached counts of the domains asked for; misses are absent from the map. */
  abstract getMany(names: readonly string[]): Promise<Map<string, Counts>>;

  /** Merges fresh totals (as a store returned them) into the cache. */
  abstract merge(rows: readonly DomainCounts[]): Promise<void>;

  /** Resolves when the cache answers; throws with the reason when it does not. */
  abstract ping(): Promise<void>;

  abstract close(): Promise<void>;
}
