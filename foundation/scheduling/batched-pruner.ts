// Background deletion of old rows in bounded batches: a round at start and
// then every `everyMs`; a round deletes batches of at most `batch` rows older
// than `olderThanMs` until one comes back short (or `maxBatches`, so one round
// stays bounded and the next continues). One round runs at a time, and stop()
// waits for the one running. A failed round is reported and tried again at
// the next one.

export interface BatchedPrunerOptions {
  everyMs: number;
  batch: number;
  maxBatches: number;
  /** Rows recorded before now − this are deleted. */
  olderThanMs: number;
  /** Deletes at most `limit` rows recorded before `before`; returns how many it deleted. */
  deleteBatch(before: Date, limit: number): Promise<number>;
  /** After a round that deleted something. */
  deleted?(total: number, before: Date): void;
  failed?(err: unknown): void;
}

export class BatchedPruner {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private stopped = false;

  constructor(private readonly options: BatchedPrunerOptions) {}

  start(): void {
    const round = () => {
      this.running ??= this.pruneOnce().finally(() => (this.running = undefined));
    };
    round();
    this.timer = setInterval(round, this.options.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One round; returns how many rows it deleted (a failure is reported, not thrown). */
  async pruneOnce(): Promise<number> {
    const { batch, maxBatches, olderThanMs } = this.options;
    const before = new Date(Date.now() - olderThanMs);
    let total = 0;
    try {
      for (let i = 0; i < maxBatches && !this.stopped; i++) {
        const n = await this.options.deleteBatch(before, batch);
        total += n;
        if (n < batch) break;
      }
      if (total > 0) this.options.deleted?.(total, before);
    } catch (err) {
      this.options.failed?.(err);
    }
    return total;
  }
}
