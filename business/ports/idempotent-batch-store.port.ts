// The idempotent-batch-store port: applies a batch of deltas at most once per
// idempotency key (POST /events with an Idempotency-Key header). The key, the
// batch's counts and the answer are stored together, all or nothing, so a
// crash can never leave a batch counted without its key (it would be counted
// again on retry) or a key recorded without its batch (the retry would be
// answered without counting). Adapters: business/adapters/memory,
// business/adapters/postgres (and the redis cache's wrapper).
import { DomainCounts } from '../models';
import { CountDeltas } from './counter-store.port';

/** The answer a keyed batch got the first time, replayed to its retries. */
export interface StoredAnswer {
  status: number;
  /** The response body, as sent (JSON text). */
  body: string;
}

export interface KeyedBatch {
  /** The Idempotency-Key, already validated (1–255 printable ASCII characters). */
  key: string;
  /** Hex SHA-256 of what the request means (see app/handlers/idempotent-batch.ts). */
  fingerprint: string;
  deltas: CountDeltas;
  /** The answer to store with the key: a batch's answer is known before it is applied. */
  answer: StoredAnswer;
  /** How long the key is remembered; after that it counts as absent. */
  ttlSeconds: number;
}

export type KeyedOutcome =
  /** The key was new (or expired): the deltas were added; totals are the new counts of the domains touched. */
  | { kind: 'applied'; totals: DomainCounts[] }
  /** The key is known: nothing was added; this is what the first request stored. */
  | { kind: 'replayed'; fingerprint: string; answer: StoredAnswer };

/** The store holds as many keys as it may: the caller should retry later (HTTP 503). */
export class IdempotencyKeysFullError extends Error {
  constructor(max: number) {
    super(`the idempotency key store is full (${max} keys within their TTL), retry later`);
    this.name = 'IdempotencyKeysFullError';
  }
}

export abstract class IdempotentBatchStore {
  /**
   * In one atomic step: when `batch.key` is absent (or expired), records it
   * with its fingerprint and answer and adds the deltas; when it is present,
   * adds nothing and returns what was recorded. Throws when the outcome is not
   * stored (the key is then absent too, so a retry is safe). A concurrent call
   * with the same key waits for the first one (PostgreSQL: the key's row lock).
   */
  abstract applyOnce(batch: KeyedBatch): Promise<KeyedOutcome>;

  /** Deletes up to `limit` expired keys; returns how many. Expired keys already count as absent. */
  abstract prune(limit: number): Promise<number>;
}
