// What the ingest service reports about its work, so that the app can turn it
// into metrics, logs and traces without the core knowing about any of them:
// counters of accepted and refused events, and one hook around each flush.
import { EventType } from '../models';

/** A flush as it starts: what it took out of the pending map. */
export interface FlushStart {
  domains: number;
  events: number;
  /** Number of store calls the flush is split into (FLUSH_MAX_DOMAINS). */
  chunks: number;
}

interface FlushReport extends FlushStart {
  durationMs: number;
}

/** How a flush ended. A failed one keeps its deltas and is retried in retryInMs. */
export type FlushResult =
  | { ok: true; report: FlushReport }
  | { ok: false; report: FlushReport; error: unknown; retryInMs: number };

export interface IngestObserver {
  eventsAccepted?(type: EventType, n: number): void;
  eventsRejected?(reason: 'overloaded', n: number): void;
  /**
   * Around each flush: `write` stores the flush and resolves with how it went
   * (it never rejects). The observer calls it exactly once, may run it in a
   * scope of its own (a span's context, so that store calls nest under it),
   * and resolves once it has recorded the result. The flush acknowledges its
   * events after that.
   */
  aroundFlush?(start: FlushStart, write: () => Promise<FlushResult>): Promise<void>;
}
