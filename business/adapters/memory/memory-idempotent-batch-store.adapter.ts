// The memory idempotent-batch store: keys live in this process only, in a
// bounded map with a TTL, beside the memory counter store whose counts they
// guard. Both vanish together on exit, so "key recorded, batch not counted"
// cannot happen; across nodes there is nothing to share (STORE=memory is a
// single-node store).
//
// Pruning walks the whole map (at most maxKeys entries, once a minute: a few
// milliseconds). Past maxKeys live keys, new keys are refused (503) rather
// than forgetting live ones, which would break the at-most-once promise.
import { CounterStore, IdempotencyKeysFullError, IdempotentBatchStore, KeyedBatch, KeyedOutcome, StoredAnswer } from '../../ports';

const DEFAULT_MAX_KEYS = 100_000;

interface Entry {
  fingerprint: string;
  answer: StoredAnswer;
  expiresAt: number;
  /** Set while the batch is being applied; concurrent calls with the key wait for it. */
  applying?: Promise<unknown>;
}

export interface MemoryIdempotentOptions {
  maxKeys?: number;
  /** Clock in ms (tests move it). */
  now?: () => number;
}

export class MemoryIdempotentBatchStore extends IdempotentBatchStore {
  private readonly keys = new Map<string, Entry>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(
    private readonly counters: CounterStore,
    options: MemoryIdempotentOptions = {},
  ) {
    super();
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.now = options.now ?? Date.now;
  }

  /** Keys held (live or not yet pruned). */
  get size(): number {
    return this.keys.size;
  }

  async applyOnce(batch: KeyedBatch): Promise<KeyedOutcome> {
    for (;;) {
      const entry = this.keys.get(batch.key);
      if (entry?.applying) {
        await entry.applying.catch(() => undefined);
        continue; // look again: it was stored, or it failed and the key is free
      }
      if (entry && entry.expiresAt > this.now()) {
        return { kind: 'replayed', fingerprint: entry.fingerprint, answer: entry.answer };
      }
      if (entry) this.keys.delete(batch.key); // expired: absent (and re-inserted at the back)
      if (this.keys.size >= this.maxKeys) await this.prune(this.keys.size);
      if (this.keys.size >= this.maxKeys) throw new IdempotencyKeysFullError(this.maxKeys);
      const fresh: Entry = {
        fingerprint: batch.fingerprint,
        answer: batch.answer,
        expiresAt: this.now() + batch.ttlSeconds * 1000,
      };
      const applying = this.counters.apply(batch.deltas, { totals: true });
      fresh.applying = applying;
      this.keys.set(batch.key, fresh);
      try {
        const totals = await applying;
        delete fresh.applying;
        return { kind: 'applied', totals };
      } catch (err) {
        // Not stored (the store refused the batch before changing anything): the key stays absent.
        this.keys.delete(batch.key);
        throw err;
      }
    }
  }

  async prune(limit: number): Promise<number> {
    const now = this.now();
    let removed = 0;
    for (const [key, entry] of this.keys) {
      if (removed >= limit) break;
      if (entry.applying) continue;
      if (entry.expiresAt > now) continue;
      this.keys.delete(key);
      removed++;
    }
    return removed;
  }
}
