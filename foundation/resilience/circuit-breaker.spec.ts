import { BreakerState, CircuitBreaker } from './circuit-breaker';

function fakeClock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function breaker(clock = fakeClock(), failureThreshold = 3, openMs = 1_000) {
  const changes: Array<[BreakerState, BreakerState]> = [];
  const b = new CircuitBreaker({
    failureThreshold,
    openMs,
    now: clock.now,
    onStateChange: (s, p) => changes.push([s, p]),
  });
  return { b, clock, changes };
}

describe('CircuitBreaker', () => {
  it('stays closed below the failure threshold', () => {
    const { b } = breaker();
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
  });

  it('counts consecutive failures only: a success resets the count', () => {
    const { b } = breaker();
    b.failure();
    b.failure();
    b.success();
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
  });

  it('opens at the threshold and refuses calls until openMs has passed', () => {
    const { b, clock, changes } = breaker();
    b.failure();
    b.failure();
    b.failure();
    expect(b.state).toBe('open');
    expect(changes).toEqual([['open', 'closed']]);
    expect(b.tryAcquire()).toBe(false);
    clock.advance(999);
    expect(b.probeDue).toBe(false);
    expect(b.tryAcquire()).toBe(false);
    clock.advance(1);
    expect(b.probeDue).toBe(true);
  });

  it('lets exactly one probe through when half-open', () => {
    const { b, clock } = breaker();
    for (let i = 0; i < 3; i++) b.failure();
    clock.advance(1_000);
    expect(b.tryAcquire()).toBe(true);
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(false);
    expect(b.tryAcquire()).toBe(false);
  });

  it('closes when the probe succeeds', () => {
    const { b, clock, changes } = breaker();
    for (let i = 0; i < 3; i++) b.failure();
    clock.advance(1_000);
    b.tryAcquire();
    b.success();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
    expect(changes.map(([s]) => s)).toEqual(['open', 'half-open', 'closed']);
  });

  it('opens again for another openMs when the probe fails', () => {
    const { b, clock } = breaker();
    for (let i = 0; i < 3; i++) b.failure();
    clock.advance(1_500);
    b.tryAcquire();
    b.failure();
    expect(b.state).toBe('open');
    clock.advance(999);
    expect(b.tryAcquire()).toBe(false);
    clock.advance(1);
    expect(b.tryAcquire()).toBe(true);
  });

  it('a single failure in half-open reopens, whatever the threshold', () => {
    const { b, clock } = breaker(fakeClock(), 10);
    for (let i = 0; i < 10; i++) b.failure();
    clock.advance(1_000);
    b.tryAcquire();
    b.failure();
    expect(b.state).toBe('open');
  });

  it('ignores failures reported while open (late answers of calls made before it opened)', () => {
    const { b, clock, changes } = breaker();
    for (let i = 0; i < 3; i++) b.failure();
    clock.advance(900);
    b.failure();
    clock.advance(100);
    expect(b.tryAcquire()).toBe(true);
    expect(changes.map(([s]) => s)).toEqual(['open', 'half-open']);
  });

  it('rejects nonsense options', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0, openMs: 1 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ failureThreshold: 1, openMs: -1 })).toThrow(RangeError);
  });
});
