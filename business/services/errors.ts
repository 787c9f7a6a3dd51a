// Named business errors; the app layer maps them to HTTP answers.

/** The pending backlog is full: the caller should retry later (HTTP 503 + Retry-After). */
export class OverloadedError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('the service is overloaded: the pending event backlog is full, retry later');
    this.name = 'OverloadedError';
  }
}

/** A durable write was not confirmed in time. It was not acknowledged (HTTP 503). */
export class AckTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`the event was not confirmed as stored within ${timeoutMs} ms, retry later`);
    this.name = 'AckTimeoutError';
  }
}

/** The service is shutting down and takes no new events (HTTP 503). */
export class ShuttingDownError extends Error {
  constructor() {
    super('the service is shutting down, retry on another node');
    this.name = 'ShuttingDownError';
  }
}

/** A durable write whose flush could not be stored before shutdown ended. */
export class NotStoredError extends Error {
  constructor(reason: string) {
    super(`the event was not stored: ${reason}`);
    this.name = 'NotStoredError';
  }
}

/** The counter store could not answer a read (HTTP 503: retry later). */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the counter store is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** A read waited too long for the flushes of its domains to end (HTTP 503: retry later). */
export class ReadWaitTimeoutError extends Error {
  constructor(waitedMs: number) {
    super(`the domains read were being stored for more than ${waitedMs} ms, retry later`);
    this.name = 'ReadWaitTimeoutError';
  }
}

/** An Idempotency-Key was used before with a different request (HTTP 422). */
export class IdempotencyKeyReusedError extends Error {
  constructor() {
    super('this Idempotency-Key was used with a different request; use a new key for a new batch');
    this.name = 'IdempotencyKeyReusedError';
  }
}

/** The first request with this Idempotency-Key is still being processed on this node (HTTP 409). */
export class IdempotencyKeyInFlightError extends Error {
  constructor() {
    super('a request with this Idempotency-Key is still being processed; retry later with the same key');
    this.name = 'IdempotencyKeyInFlightError';
  }
}
