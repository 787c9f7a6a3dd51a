// Judging a domain after a run: exact when every request was answered, a range
// (inconclusive, never a guess) when some failed, and a mismatch outside it.
import { Counts, zeroCounts } from '../../../business/models';
import { DomainTally } from './runner';
import { DomainView, compare, judgeDomain, notFresh } from './verify';

const tally = (acked: Counts, uncertain: Counts = zeroCounts()): DomainTally => ({
  plan: { index: 0, name: 'AbcDef.com', max: 0, bounceEvery: 0, count: 0 },
  key: 'abcdef.com',
  acked,
  uncertain,
});
const view = (delivered: number, bounced: number, status: DomainView['status']): DomainView => ({ domain: 'abcdef.com', status, delivered, bounced });
const T = 1000;

describe('judgeDomain', () => {
  it('matches exact counts and the status the rule gives them', () => {
    expect(judgeDomain(tally({ delivered: 1001, bounced: 0 }), zeroCounts(), view(1001, 0, 'catch-all'), T)).toEqual({ kind: 'match' });
    expect(judgeDomain(tally({ delivered: 1000, bounced: 0 }), zeroCounts(), view(1000, 0, 'unknown'), T)).toEqual({ kind: 'match' });
    expect(judgeDomain(tally({ delivered: 5, bounced: 1 }), zeroCounts(), view(5, 1, 'not catch-all'), T)).toEqual({ kind: 'match' });
  });

  it('adds the counts the domain had before the run', () => {
    const before = { delivered: 1000, bounced: 0 };
    expect(judgeDomain(tally({ delivered: 1, bounced: 0 }), before, view(1001, 0, 'catch-all'), T).kind).toBe('match');
  });

  it('reports lost or extra events, a wrong status, and a missing domain', () => {
    const lost = judgeDomain(tally({ delivered: 10, bounced: 2 }), zeroCounts(), view(9, 2, 'not catch-all'), T);
    expect(lost).toMatchObject({ kind: 'mismatch', mismatch: { problem: 'counts differ', expected: { status: 'not catch-all', delivered: [10, 10] } } });
    expect(judgeDomain(tally({ delivered: 10, bounced: 0 }), zeroCounts(), view(11, 0, 'unknown'), T).kind).toBe('mismatch');
    expect(judgeDomain(tally({ delivered: 1001, bounced: 0 }), zeroCounts(), view(1001, 0, 'unknown'), T)).toMatchObject({
      mismatch: { problem: 'status does not follow from the counts' },
    });
    expect(judgeDomain(tally({ delivered: 1, bounced: 0 }), zeroCounts(), undefined, T)).toMatchObject({
      mismatch: { problem: 'missing from the lookup answer' },
    });
  });

  it('calls a domain with failed requests inconclusive while its counts lie in the possible range', () => {
    const t = tally({ delivered: 10, bounced: 1 }, { delivered: 5, bounced: 1 });
    for (const [d, b] of [[10, 1], [15, 2], [12, 1]]) {
      expect(judgeDomain(t, zeroCounts(), view(d, b, 'not catch-all'), T)).toEqual({ kind: 'inconclusive', why: 'failed requests' });
    }
    expect(judgeDomain(t, zeroCounts(), view(9, 1, 'not catch-all'), T).kind).toBe('mismatch');
    expect(judgeDomain(t, zeroCounts(), view(16, 1, 'not catch-all'), T).kind).toBe('mismatch');
    expect(judgeDomain(t, zeroCounts(), view(12, 1, 'unknown'), T).kind).toBe('mismatch');
  });

  it('cannot judge a domain whose starting counts are unknown', () => {
    expect(judgeDomain(tally({ delivered: 1, bounced: 0 }), undefined, view(7, 0, 'unknown'), T)).toEqual({
      kind: 'inconclusive',
      why: 'unknown starting counts',
    });
  });
});

describe('compare', () => {
  it('passes, fails or stays inconclusive as a whole, and says why', () => {
    const views = new Map([['abcdef.com', view(3, 0, 'unknown')]]);
    expect(compare([tally({ delivered: 3, bounced: 0 })], views, () => zeroCounts(), T)).toMatchObject({ outcome: 'passed', matched: 1 });
    expect(compare([tally({ delivered: 2, bounced: 0 })], views, () => zeroCounts(), T)).toMatchObject({ outcome: 'failed' });
    const unsure = compare([tally({ delivered: 2, bounced: 0 }, { delivered: 1, bounced: 0 })], views, () => zeroCounts(), T);
    expect(unsure).toMatchObject({ outcome: 'inconclusive', inconclusive: 1 });
    expect(unsure.note).toContain('1 with failed requests');
  });
});

describe('notFresh', () => {
  it('lists the domains that already have counts', () => {
    const views = new Map([
      ['a.com', { domain: 'a.com', status: 'unknown' as const, delivered: 0, bounced: 0 }],
      ['b.com', { domain: 'b.com', status: 'not catch-all' as const, delivered: 0, bounced: 1 }],
    ]);
    expect(notFresh(views).map((v) => v.domain)).toEqual(['b.com']);
  });
});
