// A number that only grows, and waiters for it to pass a mark: "wake me when the
// value is above N, or at the deadline, or when I hang up". Used by long-polls
// (a feed's last id), where each waiter must cost a timer and a closure only,
// and must be released the moment its client goes away.

interface Waiter {
  after: number;
  resolve: (passed: boolean) => void;
}

export class MonotoneSignal {
  private current: number;
  private readonly waiters = new Set<Waiter>();

  constructor(initial = 0) {
    this.current = initial;
  }

  get value(): number {
    return this.current;
  }

  /** Number of pending waits (for metrics and a cap). */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Raises the value (a lower one is ignored) and wakes every waiter it passes. */
  advance(value: number): void {
    if (!(value > this.current)) return;
    this.current = value;
    for (const w of this.waiters) if (value > w.after) w.resolve(true);
  }

  /** Resolves true once the value is above `after`, false at the deadline (epoch ms) or on abort. */
  wait(after: number, deadline: number, signal?: AbortSignal): Promise<boolean> {
    if (this.current > after) return Promise.resolve(true);
    const ms = deadline - Date.now();
    if (ms <= 0 || signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        after,
        resolve: (passed) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.waiters.delete(waiter);
          resolve(passed);
        },
      };
      const onAbort = () => waiter.resolve(false);
      const timer = setTimeout(() => waiter.resolve(false), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Releases every waiter with false (shutdown). */
  releaseAll(): void {
    for (const w of this.waiters) w.resolve(false);
  }
}
