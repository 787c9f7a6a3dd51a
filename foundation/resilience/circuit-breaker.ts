// A circuit breaker for calls to an optional dependency (a cache): after
// `failureThreshold` consecutive failures it opens and callers skip the
// dependency at no cost; after `openMs` one caller is let through as a probe
// (half-open). The probe's success closes the breaker, its failure opens it
// again for another `openMs`. The clock is injectable so tests need no sleeps.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long the breaker stays open before it lets one probe through. */
  openMs: number;
  now?: () => number;
  onStateChange?: (state: BreakerState, previous: BreakerState) => void;
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private readonly now: () => number;

  constructor(private readonly opts: CircuitBreakerOptions) {
    if (!(opts.failureThreshold >= 1)) throw new RangeError('failureThreshold must be at least 1');
    if (!(opts.openMs >= 0)) throw new RangeError('openMs must not be negative');
    this.now = opts.now ?? Date.now;
  }

  get state(): BreakerState {
    return this.current;
  }

  /** True when the breaker is open and its probe is due (a caller of tryAcquire would become the probe). */
  get probeDue(): boolean {
    return this.current === 'open' && this.now() - this.openedAt >= this.opts.openMs;
  }

  /**
   * Asks to make a call. Closed: yes. Open: no, until openMs has passed; then
   * exactly one caller gets yes and becomes the probe (half-open). Half-open:
   * no for everyone else until the probe reports.
   */
  tryAcquire(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open' && this.probeDue) {
      this.transition('half-open');
      return true;
    }
    return false;
  }

  /** The call succeeded. */
  success(): void {
    this.failures = 0;
    if (this.current !== 'closed') this.transition('closed');
  }

  /** The call failed (an error or a timeout of the dependency, not a refusal by the breaker). */
  failure(): void {
    if (this.current === 'half-open') {
      this.open();
      return;
    }
    if (this.current === 'open') return;
    this.failures++;
    if (this.failures >= this.opts.failureThreshold) this.open();
  }

  private open(): void {
    this.openedAt = this.now();
    this.failures = 0;
    this.transition('open');
  }

  private transition(next: BreakerState): void {
    const previous = this.current;
    if (previous === next) return;
    this.current = next;
    this.opts.onStateChange?.(next, previous);
  }
}
