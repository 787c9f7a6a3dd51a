import { TokenBuckets } from './token-bucket';

describe('TokenBuckets', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 0));

  it('admits up to the burst at once, then refills at the rate', () => {
    const buckets = new TokenBuckets(10, 100, 1000, clock);
    expect(buckets.take('a', 100)).toMatchObject({ ok: true, remaining: 0 });
    expect(buckets.take('a', 1)).toEqual({ ok: false, remaining: 0, resetSeconds: 1 });
    now = 500; // +5 tokens
    expect(buckets.take('a', 5).ok).toBe(true);
    expect(buckets.take('a', 1).ok).toBe(false);
    now = 10_500; // full again, never more than the burst
    expect(buckets.take('a', 100).ok).toBe(true);
  });

  it('counts units, not calls: one take of 60 and one of 50 exceed a burst of 100', () => {
    const buckets = new TokenBuckets(10, 100, 1000, clock);
    expect(buckets.take('a', 60).ok).toBe(true);
    expect(buckets.take('a', 50)).toMatchObject({ ok: false, resetSeconds: 1 });
    expect(buckets.take('a', 40).ok).toBe(true);
  });

  it('admits a take larger than the burst from a full bucket, leaving a debt to wait out', () => {
    const buckets = new TokenBuckets(10, 20, 1000, clock);
    expect(buckets.take('a', 50).ok).toBe(true); // tokens: -30
    expect(buckets.take('a', 1)).toEqual({ ok: false, remaining: 0, resetSeconds: 4 }); // needs 31 tokens: 3.1 s
    now = 4_000;
    expect(buckets.take('a', 1).ok).toBe(true);
  });

  it('keeps one bucket per client', () => {
    const buckets = new TokenBuckets(1, 1, 1000, clock);
    expect(buckets.take('a', 1).ok).toBe(true);
    expect(buckets.take('b', 1).ok).toBe(true);
    expect(buckets.take('a', 1).ok).toBe(false);
  });

  it('tracks at most maxClients, dropping full buckets first and then the oldest', () => {
    const buckets = new TokenBuckets(1, 10, 3, clock);
    buckets.take('a', 10);
    buckets.take('b', 1);
    buckets.take('c', 10);
    now = 1_000; // b is full again
    buckets.take('d', 1);
    expect(buckets.size).toBeLessThanOrEqual(3);
    expect(buckets.take('a', 5).ok).toBe(false); // a's debt was kept
    for (let i = 0; i < 100; i++) buckets.take(`x${i}`, 10);
    expect(buckets.size).toBeLessThanOrEqual(3);
  });
});
