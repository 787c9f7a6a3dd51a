// A flush generation: the promise that every durable request whose event went
// into one pending map waits on. It resolves when the flush holding those events
// commits. When that flush fails, its deltas go back into the next pending map
// and the generation follows the next one, so its waiters are answered by the
// flush that finally stores their events, or time out with a 503; never a false ack.
import { AckTimeoutError } from './errors';

export class FlushGeneration {
  readonly promise: Promise<void>;
  private resolveFn!: () => void;
  private rejectFn!: (err: Error) => void;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private followers: FlushGeneration[] = [];
  private observed = false;
  /** When the first waiter arrived (ms since epoch; 0 while nobody waits). */
  armedAt = 0;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  /** The promise for a waiter; arms the ack timeout on first use. */
  waitFor(timeoutMs: number): Promise<void> {
    if (!this.observed) {
      this.observed = true;
      this.armedAt = Date.now();
      // Unhandled rejections of generations nobody awaits must not crash the process.
      this.promise.catch(() => undefined);
      if (!this.settled && timeoutMs > 0) {
        this.timer = setTimeout(() => this.fail(new AckTimeoutError(timeoutMs)), timeoutMs);
        this.timer.unref();
      }
    }
    return this.promise;
  }

  get hasWaiters(): boolean {
    return this.observed;
  }

  /** Settle this generation together with `other` (whose flush failed). */
  adopt(other: FlushGeneration): void {
    if (!other.settled) this.followers.push(other);
  }

  succeed(): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.resolveFn();
    for (const f of this.followers) f.succeed();
    this.followers = [];
  }

  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.observed) this.promise.catch(() => undefined);
    this.rejectFn(err);
    for (const f of this.followers) f.fail(err);
    this.followers = [];
  }
}
