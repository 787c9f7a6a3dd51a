// What the cache reports about its work, so that the app can turn it into
// metrics and logs without the adapter knowing about either.
import { BreakerState } from '../../../foundation/resilience/circuit-breaker';

export type CacheOp = 'read' | 'merge' | 'invalidate' | 'probe';
export type LookupResult = 'hit' | 'miss' | 'bypass';
/** flush: write-through after a store write; fill: read-through after a miss. */
export type WriteKind = 'flush' | 'fill';
/** merged; stale: the generation had moved on; failed: Redis failed; skipped: not attempted. */
export type WriteResult = 'merged' | 'stale' | 'failed' | 'skipped';

export interface CacheObserver {
  /** Domains looked up: found in the cache, missed, or not asked of it (breaker open, generation suspect). */
  lookups?(result: LookupResult, n: number): void;
  /** A call to Redis finished (ok) or failed, after durationMs (the breaker's refusals are not calls). */
  called?(op: CacheOp, durationMs: number, ok: boolean): void;
  /** A call to Redis failed or timed out. */
  failed?(op: CacheOp, error: unknown): void;
  /** A call was not made because the breaker is open. */
  refused?(op: CacheOp): void;
  /** Rows written to (or meant for) the cache. */
  writes?(kind: WriteKind, result: WriteResult, rows: number): void;
  breakerChanged?(state: BreakerState, previous: BreakerState): void;
  /** A new generation was started: every older entry is now a miss. */
  invalidated?(reason: string): void;
}
