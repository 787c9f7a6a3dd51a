// Deletes changes older than CHANGES_RETENTION_DAYS in the background: in
// batches (a short statement each, so flushes never wait long on it), at start
// and then every PRUNE_EVERY_MS. A failure is logged and tried again next time.
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ChangeFeed } from '../business/ports';
import { APP_CONFIG, AppConfig } from './config';

const PRUNE_EVERY_MS = 10 * 60_000;
const PRUNE_BATCH = 1_000;
/** At most this many batches a round, so one round stays bounded; the next round continues. */
const MAX_BATCHES_PER_ROUND = 100;
const DAY_MS = 24 * 3600_000;

@Injectable()
export class ChangesPruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Changes');
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;

  constructor(
    @Inject(ChangeFeed) private readonly feed: ChangeFeed,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const round = () => {
      this.running ??= this.pruneOnce().finally(() => (this.running = undefined));
    };
    round();
    this.timer = setInterval(round, PRUNE_EVERY_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One round: deletes batches of expired changes until none is left (or the round's bound). */
  async pruneOnce(): Promise<number> {
    const before = new Date(Date.now() - this.config.CHANGES_RETENTION_DAYS * DAY_MS);
    let total = 0;
    try {
      for (let i = 0; i < MAX_BATCHES_PER_ROUND && !this.stopped; i++) {
        const n = await this.feed.prune(before, PRUNE_BATCH);
        total += n;
        if (n < PRUNE_BATCH) break;
      }
      if (total > 0) this.logger.log(`pruned ${total} changes recorded before ${before.toISOString()}`);
    } catch (err) {
      this.logger.warn(`pruning changes failed (retried in ${PRUNE_EVERY_MS / 60_000} min): ${err instanceof Error ? err.message : String(err)}`);
    }
    return total;
  }
}
