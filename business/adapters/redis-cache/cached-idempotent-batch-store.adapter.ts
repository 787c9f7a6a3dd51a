// The idempotent-batch store seen through the status cache: a keyed batch
// writes the counter store directly (not through a flush), so the new totals
// it returns must reach the cache as a flush's do; otherwise the cache would
// go on answering counts (or a status) from before the batch.
import { DomainCounts } from '../../models';
import { IdempotentBatchStore, KeyedBatch, KeyedOutcome } from '../../ports';
import { CachedCounterStore } from './cached-counter-store.adapter';

export class CachedIdempotentBatchStore extends IdempotentBatchStore {
  constructor(
    private readonly inner: IdempotentBatchStore,
    private readonly cached: CachedCounterStore,
  ) {
    super();
  }

  applyOnce(batch: KeyedBatch): Promise<KeyedOutcome> {
    return this.cached.writeWith(() => this.inner.applyOnce(batch), totalsOf);
  }

  prune(limit: number): Promise<number> {
    return this.inner.prune(limit);
  }
}

function totalsOf(outcome: KeyedOutcome): DomainCounts[] {
  return outcome.kind === 'applied' ? outcome.totals : [];
}
