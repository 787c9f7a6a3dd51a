import { countEvents, PendingDeltas, splitChunks } from './pending-deltas';

describe('PendingDeltas', () => {
  it('adds in place and counts domains and events', () => {
    const p = new PendingDeltas();
    p.add('a.com', 'delivered', 1);
    p.add('a.com', 'bounced', 2);
    p.add('b.com', 'delivered', 1);
    expect([p.size, p.domains, p.events, p.empty]).toEqual([2, 2, 4, false]);
    expect(p.countsOf(['a.com', 'x.com'])).toEqual(new Map([['a.com', { delivered: 1, bounced: 2 }]]));
  });

  it('take() hands over the whole map and starts a new one', () => {
    const p = new PendingDeltas();
    p.add('a.com', 'delivered', 3);
    const { batch, events } = p.take();
    expect(batch).toEqual(new Map([['a.com', { delivered: 3, bounced: 0 }]]));
    expect(events).toBe(3);
    expect([p.size, p.events, p.empty]).toEqual([0, 0, true]);
    p.add('a.com', 'delivered', 1);
    expect(batch.get('a.com')).toEqual({ delivered: 3, bounced: 0 }); // the taken batch is not touched
  });

  it('merges back what a flush failed to store, adding to what arrived since', () => {
    const p = new PendingDeltas();
    p.add('a.com', 'delivered', 2);
    const { batch } = p.take();
    p.add('a.com', 'bounced', 1);
    p.mergeBack(batch);
    expect(p.countsOf(['a.com']).get('a.com')).toEqual({ delivered: 2, bounced: 1 });
    expect(p.events).toBe(3);
  });

  it('keeps the deltas of a held domain out of take() until released; merged-back deltas are not held', () => {
    const p = new PendingDeltas();
    p.add('a.com', 'delivered', 1);
    p.hold('a.com');
    p.add('a.com', 'delivered', 5);
    p.add('b.com', 'bounced', 1);
    expect([p.isHeld('a.com'), p.isHeld('b.com'), p.holds]).toEqual([true, false, 1]);
    expect(p.countsOf(['a.com']).get('a.com')).toEqual({ delivered: 6, bounced: 0 });
    expect(p.hasAny(['a.com'])).toBe(true); // the delta from before the hold
    const first = p.take();
    expect(first.batch).toEqual(
      new Map([
        ['a.com', { delivered: 1, bounced: 0 }],
        ['b.com', { delivered: 0, bounced: 1 }],
      ]),
    );
    expect(p.hasAny(['a.com'])).toBe(false);
    expect([p.size, p.domains, p.events, p.empty]).toEqual([0, 1, 5, false]);
    p.mergeBack(new Map([['a.com', { delivered: 1, bounced: 0 }]]));
    expect(p.hasAny(['a.com'])).toBe(true);
    p.take();
    p.release('a.com');
    expect(p.isHeld('a.com')).toBe(false);
    expect(p.take()).toEqual({ batch: new Map([['a.com', { delivered: 5, bounced: 0 }]]), events: 5 });
    expect(p.empty).toBe(true);
  });
});

describe('splitChunks', () => {
  it('keeps a batch that fits as it is, and splits a larger one into maps of at most max domains', () => {
    const batch = new Map(['a', 'b', 'c', 'd', 'e'].map((n) => [n, { delivered: 1, bounced: 1 }]));
    expect(splitChunks(batch, 5)[0]).toBe(batch);
    const chunks = splitChunks(batch, 2);
    expect(chunks.map((c) => [...c.keys()])).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(chunks.map(countEvents)).toEqual([4, 4, 2]);
  });
});
