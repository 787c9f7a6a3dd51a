import { classify, mergeStatus, report, statusRank } from './domain-status';

describe('classify', () => {
  it.each([
    [{ delivered: 0, bounced: 0 }, 'unknown'],
    [{ delivered: 1000, bounced: 0 }, 'unknown'],
    [{ delivered: 1001, bounced: 0 }, 'catch-all'],
    [{ delivered: 1001, bounced: 1 }, 'not catch-all'],
    [{ delivered: 0, bounced: 1 }, 'not catch-all'],
    [{ delivered: 5_000_000, bounced: 0 }, 'catch-all'],
  ] as const)('%j is %s with the default threshold', (counts, status) => {
    expect(classify(counts)).toBe(status);
  });

  it('uses the threshold it is given (strictly more than)', () => {
    expect(classify({ delivered: 10, bounced: 0 }, 10)).toBe('unknown');
    expect(classify({ delivered: 11, bounced: 0 }, 10)).toBe('catch-all');
    expect(classify({ delivered: 1, bounced: 0 }, 0)).toBe('catch-all');
  });
});

describe('status rank', () => {
  it('orders unknown < catch-all < not catch-all', () => {
    expect(statusRank('unknown')).toBeLessThan(statusRank('catch-all'));
    expect(statusRank('catch-all')).toBeLessThan(statusRank('not catch-all'));
  });

  it('merges two views by keeping the higher rank, whatever the order', () => {
    expect(mergeStatus('not catch-all', 'catch-all')).toBe('not catch-all');
    expect(mergeStatus('catch-all', 'not catch-all')).toBe('not catch-all');
    expect(mergeStatus('unknown', 'catch-all')).toBe('catch-all');
    expect(mergeStatus('unknown', 'unknown')).toBe('unknown');
  });

  it('is monotone in the counts: adding events never lowers the rank', () => {
    let prev = 0;
    const counts = { delivered: 0, bounced: 0 };
    for (let i = 0; i < 1500; i++) {
      counts.delivered++;
      if (i === 1200) counts.bounced++;
      const rank = statusRank(classify(counts));
      expect(rank).toBeGreaterThanOrEqual(prev);
      prev = rank;
    }
    expect(prev).toBe(2);
  });
});

describe('report', () => {
  it('answers the API shape', () => {
    expect(report('a.com', { delivered: 1200, bounced: 0 }, 1000)).toEqual({
      domain: 'a.com',
      status: 'catch-all',
      delivered: 1200,
      bounced: 0,
    });
  });
});
