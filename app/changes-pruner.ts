// Deletes changes older than CHANGES_RETENTION_DAYS in the background: in
// batches (a short statement each, so flushes never wait long on it), at start
// and then every PRUNE_EVERY_MS. A failure is logged and tried again next time.
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ChangeFeed } from '../business/ports';
import { BatchedPruner } from '../foundation/scheduling/batched-pruner';
import { APP_CONFIG, AppConfig } from './config';

const PRUNE_EVERY_MS = 10 * 60_000;
const DAY_MS = 24 * 3600_000;

@Injectable()
export class ChangesPruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Changes');
  private readonly pruner: BatchedPruner;

  constructor(@Inject(ChangeFeed) feed: ChangeFeed, @Inject(APP_CONFIG) config: AppConfig) {
    this.pruner = new BatchedPruner({
      everyMs: PRUNE_EVERY_MS,
      batch: 1_000,
      // At most 100 batches a round, so one round stays bounded; the next round continues.
      maxBatches: 100,
      olderThanMs: config.CHANGES_RETENTION_DAYS * DAY_MS,
      deleteBatch: (before, limit) => feed.prune(before, limit),
      deleted: (total, before) => this.logger.log(`pruned ${total} changes recorded before ${before.toISOString()}`),
      failed: (err) =>
        this.logger.warn(`pruning changes failed (retried in ${PRUNE_EVERY_MS / 60_000} min): ${err instanceof Error ? err.message : String(err)}`),
    });
  }

  onApplicationBootstrap(): void {
    this.pruner.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.pruner.stop();
  }

  /** One round: deletes batches of expired changes until none is left (or the round's bound). */
  pruneOnce(): Promise<number> {
    return this.pruner.pruneOnce();
  }
}
