// The durable requests waiting for the flush that stores their events. Every
// request whose event sits in the pending map waits on the current generation;
// a flush takes it with the map, and settles it when it commits or hands it to
// the next generation when it fails (FlushGeneration.adopt), so a waiter is
// answered by the flush that finally stores its event, or times out: never a
// false ack.
import { FlushGeneration } from './flush-generation';

export class AckWaiters {
  private current = new FlushGeneration();
  /** Waiters of events of held domains (see ReadFence), one generation per domain. */
  private readonly held = new Map<string, FlushGeneration>();

  constructor(private readonly timeoutMs: number) {}

  /** The promise of a request whose event was just added to the pending map. */
  wait(): Promise<void> {
    // A generation's ack timer starts with its first waiter. While the store is
    // failing, one generation would gather requests for a long time and answer
    // the late ones 503 early, so a new generation (following the old one)
    // starts every tenth of the timeout: every request waits 90–100% of it.
    const armedAt = this.current.armedAt;
    if (armedAt !== 0 && Date.now() - armedAt > this.timeoutMs / 10) {
      const next = new FlushGeneration();
      next.adopt(this.current);
      this.current = next;
    }
    return this.current.waitFor(this.timeoutMs);
  }

  /** The promise of a request whose event went to the held deltas of `domain`. */
  waitHeld(domain: string): Promise<void> {
    let g = this.held.get(domain);
    if (g === undefined) {
      g = new FlushGeneration();
      this.held.set(domain, g);
    }
    return g.waitFor(this.timeoutMs);
  }

  /** The held deltas of these domains joined the pending map: their waiters follow it. */
  released(domains: readonly string[]): void {
    if (this.held.size === 0) return;
    for (const d of domains) {
      const g = this.held.get(d);
      if (g === undefined) continue;
      this.held.delete(d);
      this.current.adopt(g);
    }
  }

  get hasWaiters(): boolean {
    return this.current.hasWaiters;
  }

  /** The waiters of everything pending now, for the flush that takes the whole pending map. */
  take(): FlushGeneration {
    const taken = this.current;
    this.current = new FlushGeneration();
    return taken;
  }

  /** The waiters of a failed flush wait for the next one, which stores their events. */
  putBack(generation: FlushGeneration): void {
    this.current.adopt(generation);
  }

  /** Rejects everyone still waiting (shutdown gave up). */
  failAll(err: Error): void {
    this.current.fail(err);
    for (const g of this.held.values()) g.fail(err);
    this.held.clear();
  }
}
