// What the ingest service reports about its work, so that the app can turn it
// into metrics and traces without the core knowing about either.
export interface FlushReport {
  domains: number;
  events: number;
  durationMs: number;
  /** Number of store calls the flush was split into (FLUSH_MAX_DOMAINS). */
  chunks: number;
}

export interface IngestObserver {
  eventsAccepted?(type: 'delivered' | 'bounced', n: number): void;
  eventsRejected?(reason: 'overloaded', n: number): void;
  flushSucceeded?(report: FlushReport): void;
  flushFailed?(report: FlushReport, error: unknown, retryInMs: number): void;
}
