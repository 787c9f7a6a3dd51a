import { detectTransition, detectTransitions } from './transition';

describe('detectTransition', () => {
  it('finds unknown → catch-all when a flush crosses the threshold (strictly more than)', () => {
    expect(detectTransition('a.com', { delivered: 1001, bounced: 0 }, { delivered: 1, bounced: 0 }, 1000)).toEqual({
      domain: 'a.com',
      from: 'unknown',
      to: 'catch-all',
      delivered: 1001,
      bounced: 0,
    });
  });

  it('finds nothing when reaching exactly the threshold', () => {
    expect(detectTransition('a.com', { delivered: 1000, bounced: 0 }, { delivered: 5, bounced: 0 }, 1000)).toBeUndefined();
  });

  it('finds catch-all → not catch-all on the first bounce', () => {
    expect(detectTransition('a.com', { delivered: 1500, bounced: 1 }, { delivered: 0, bounced: 1 }, 1000)).toMatchObject({
      from: 'catch-all',
      to: 'not catch-all',
    });
  });

  it('finds nothing on a second bounce (not catch-all is final)', () => {
    expect(detectTransition('a.com', { delivered: 1500, bounced: 2 }, { delivered: 0, bounced: 1 }, 1000)).toBeUndefined();
  });

  it('records the net transition when one flush takes a domain unknown → catch-all → not catch-all', () => {
    // Before: 999 delivered. The flush adds 5 delivered (→ catch-all) and then a bounce.
    expect(detectTransition('a.com', { delivered: 1004, bounced: 1 }, { delivered: 5, bounced: 1 }, 1000)).toEqual({
      domain: 'a.com',
      from: 'unknown',
      to: 'not catch-all',
      delivered: 1004,
      bounced: 1,
    });
  });

  it('finds unknown → not catch-all for a new domain whose first event is a bounce', () => {
    expect(detectTransition('a.com', { delivered: 0, bounced: 1 }, { delivered: 0, bounced: 1 }, 1000)).toMatchObject({
      from: 'unknown',
      to: 'not catch-all',
    });
  });

  it('uses the threshold it is given', () => {
    expect(detectTransition('a.com', { delivered: 11, bounced: 0 }, { delivered: 1, bounced: 0 }, 10)).toMatchObject({
      to: 'catch-all',
    });
    expect(detectTransition('a.com', { delivered: 11, bounced: 0 }, { delivered: 1, bounced: 0 }, 1000)).toBeUndefined();
  });
});

describe('detectTransitions', () => {
  it('returns only the domains whose status changed, in the order of the totals', () => {
    const deltas = new Map([
      ['a.com', { delivered: 2, bounced: 0 }],
      ['b.com', { delivered: 1, bounced: 0 }],
      ['c.com', { delivered: 0, bounced: 1 }],
    ]);
    const totals = [
      { name: 'a.com', delivered: 11, bounced: 0 },
      { name: 'b.com', delivered: 3, bounced: 0 },
      { name: 'c.com', delivered: 20, bounced: 1 },
      { name: 'd.com', delivered: 50, bounced: 0 },
    ];
    expect(detectTransitions(totals, deltas, 10)).toEqual([
      { domain: 'a.com', from: 'unknown', to: 'catch-all', delivered: 11, bounced: 0 },
      { domain: 'c.com', from: 'catch-all', to: 'not catch-all', delivered: 20, bounced: 1 },
    ]);
  });
});
