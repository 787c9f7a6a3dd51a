// Maps the business core's named errors to HTTP answers (DESIGN §2): overload,
// unconfirmed writes and shutdown are 503 with Retry-After; a client over its
// rate limit is 429 with Retry-After and the draft RateLimit headers.
import { errorAnswer, HttpErrorAnswer } from '../foundation/http/http-error';
import { IdempotencyKeysFullError } from '../business/ports';
import {
  AckTimeoutError,
  IdempotencyKeyInFlightError,
  IdempotencyKeyReusedError,
  NotStoredError,
  OverloadedError,
  ShuttingDownError,
  StoreUnavailableError,
} from '../business/services';
import { TooManyWaitersError } from './handlers/changes.http.controller';
import { RateLimitedError } from './limits/event-rate-limit';

export function mapBusinessError(err: unknown): HttpErrorAnswer | undefined {
  if (err instanceof RateLimitedError) return { ...errorAnswer(429, err.message), headers: err.headers };
  if (err instanceof OverloadedError) return unavailable(err.message, err.retryAfterSeconds);
  if (err instanceof AckTimeoutError || err instanceof NotStoredError) return unavailable(err.message, 1);
  if (err instanceof ShuttingDownError) return unavailable(err.message, 1);
  if (err instanceof TooManyWaitersError) return unavailable(err.message, 1);
  if (err instanceof StoreUnavailableError) return unavailable('the counter store is unavailable, retry later', 1);
  if (err instanceof IdempotencyKeysFullError) return unavailable(err.message, 1);
  if (err instanceof IdempotencyKeyReusedError) return errorAnswer(422, err.message);
  if (err instanceof IdempotencyKeyInFlightError) return { ...errorAnswer(409, err.message), headers: { 'retry-after': '1' } };
  return undefined;
}

function unavailable(message: string, retryAfterSeconds: number): HttpErrorAnswer {
  return { ...errorAnswer(503, message), headers: { 'retry-after': String(retryAfterSeconds) } };
}
