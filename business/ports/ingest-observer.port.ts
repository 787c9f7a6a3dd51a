// What the ingest service reports about its work, so that the app can turn it
// into metrics and traces without the core knowing about either. Trace data
// crosses the core as opaque values: a handle given with an event (the sampled
// request's span) is handed back when the flush holding that event starts, and
// whatever flushStarted returns (the flush's span) comes back when it ends.
export interface FlushReport {
  domains: number;
  events: number;
  durationMs: number;
  /** Number of store calls the flush was split into (FLUSH_MAX_DOMAINS). */
  chunks: number;
}

export interface FlushStart {
  domains: number;
  events: number;
  chunks: number;
  /**
   * The opaque handles passed to record()/recordMany() for the events this flush
   * stores (including those carried over from a failed flush), at most
   * maxTracesPerFlush of them.
   */
  traces: readonly unknown[];
}

export interface IngestObserver {
  eventsAccepted?(type: 'delivered' | 'bounced', n: number): void;
  eventsRejected?(reason: 'overloaded', n: number): void;
  /** A flush begins; the value returned is passed back, untouched, when it ends. */
  flushStarted?(start: FlushStart): unknown;
  flushSucceeded?(report: FlushReport, started?: unknown): void;
  flushFailed?(report: FlushReport, error: unknown, retryInMs: number, started?: unknown): void;
}
