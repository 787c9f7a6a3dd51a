// The generated distribution against a plain re-implementation of the
// reference generator's loop, drawing from the same seeded random stream.
import { classify } from '../../../business/models';
import { DomainPlan, INTERLEAVE_WIDTH, domainRng, eventStream, planDomains, plannedCounts } from './distribution';

type Tally = { delivered: number; bounced: number };

/** The reference loop, written out the obvious way: domains until `total` events, the last burst cut short. */
function reference(seed: number, total: number): Map<string, Tally> {
  const rng = domainRng(seed);
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const tlds = ['.net', '.com', '.org', '.io', '.gov'];
  const out = new Map<string, Tally>();
  let sent = 0;
  for (let n = 1; sent < total; n++) {
    let name = '';
    for (let k = 0; k < 14; k++) name += letters[Math.floor(rng.next() * 52)];
    name += tlds[Math.floor(rng.next() * 5)];
    const max = Math.floor(rng.next() * 2500);
    let bounced = Math.floor(0.35 * max);
    if (n % 25 === 0) bounced = 0;
    const tally = { delivered: 0, bounced: 0 };
    for (let i = 0; i < max && sent < total; i++, sent++) {
      if (bounced !== 0 && i % bounced === 0) tally.bounced++;
      else tally.delivered++;
    }
    out.set(name, tally);
  }
  return out;
}

function walk(plans: DomainPlan[], order: 'burst' | 'interleave', seed: number): Map<string, Tally> {
  const out = new Map<string, Tally>(plans.map((p) => [p.name, { delivered: 0, bounced: 0 }]));
  for (const e of eventStream(plans, order, seed)) out.get(e.plan.name)![e.bounced ? 'bounced' : 'delivered']++;
  return out;
}

function statuses(counts: Iterable<Tally>): Record<string, number> {
  const out: Record<string, number> = { 'catch-all': 0, 'not catch-all': 0, unknown: 0 };
  for (const c of counts) out[c.bounced >= 1 ? 'not catch-all' : c.delivered > 1000 ? 'catch-all' : 'unknown']++;
  return out;
}

describe('planDomains / eventStream', () => {
  const seed = 20240601;
  const total = 250_000;
  const plans = [...planDomains(seed, { events: total })];
  const expected = reference(seed, total);

  it.each(['burst', 'interleave'] as const)('sends exactly the reference counts per domain in %s order', (order) => {
    expect(walk(plans, order, seed)).toEqual(expected);
  });

  it('yields the expected status tallies, and enough domains to exercise every rule', () => {
    const want = statuses(expected.values());
    const got: Record<string, number> = { 'catch-all': 0, 'not catch-all': 0, unknown: 0 };
    for (const p of plans) got[classify(plannedCounts(p))]++;
    expect(got).toEqual(want);
    expect(plans.length).toBe(expected.size);
    expect(want['catch-all']).toBeGreaterThan(0);
    expect(want['not catch-all']).toBeGreaterThan(0);
    expect(want.unknown).toBeGreaterThan(0);
  });

  it('plans exactly the requested number of events, cutting only the last burst short', () => {
    expect(plans.reduce((sum, p) => sum + p.count, 0)).toBe(total);
    expect(plans.slice(0, -1).every((p) => p.count === p.max)).toBe(true);
    expect(plans[plans.length - 1].count).toBeLessThanOrEqual(plans[plans.length - 1].max);
  });

  it('gives the 25th, 50th … domain no bounces, and names of 14 mixed-case letters and a known TLD', () => {
    for (const p of plans) {
      if ((p.index + 1) % 25 === 0) expect(plannedCounts(p).bounced).toBe(0);
      expect(p.name).toMatch(/^[a-zA-Z]{14}\.(net|com|org|io|gov)$/);
    }
    expect(plans.some((p) => /[A-Z]/.test(p.name) && /[a-z]/.test(p.name))).toBe(true);
  });

  it('makes event 0 of a bouncing domain a bounce', () => {
    const p = plans.find((x) => x.bounceEvery > 0)!;
    const first = [...eventStream([p], 'burst', seed)][0];
    expect(first.bounced).toBe(true);
  });

  it('reproduces the same run from the same seed, and another from another seed', () => {
    expect([...planDomains(seed, { events: total })]).toEqual(plans);
    expect([...planDomains(seed + 1, { events: 10_000 })][0].name).not.toBe(plans[0].name);
    const order = (s: number) => [...eventStream(plans.slice(0, 10), 'interleave', s)].map((e) => e.plan.index).join();
    expect(order(seed)).toBe(order(seed));
    expect(order(seed)).not.toBe(order(seed + 1));
  });

  it('stops after --domains N with full bursts, and has the same first domains whatever the limit', () => {
    const byDomains = [...planDomains(seed, { domains: 30 })];
    expect(byDomains).toHaveLength(30);
    expect(byDomains.every((p) => p.count === p.max)).toBe(true);
    expect(byDomains.map((p) => p.name)).toEqual(plans.slice(0, 30).map((p) => p.name));
  });

  it('interleaves many domains at once but keeps each domain’s own event order', () => {
    const some = plans.slice(0, 200);
    const sequences = (order: 'burst' | 'interleave') => {
      const out = new Map<number, boolean[]>();
      for (const e of eventStream(some, order, seed)) out.set(e.plan.index, [...(out.get(e.plan.index) ?? []), e.bounced]);
      return out;
    };
    const burst = sequences('burst');
    const mixed = sequences('interleave');
    const firstHundred = [...eventStream(some, 'interleave', seed)].slice(0, 100).map((e) => e.plan.index);
    expect(mixed).toEqual(burst);
    expect(new Set(firstHundred).size).toBeGreaterThan(INTERLEAVE_WIDTH / 2);
  });

  it('counts a plan’s events without walking them', () => {
    for (const p of plans.slice(0, 100)) {
      expect(plannedCounts(p)).toEqual(walk([p], 'burst', seed).get(p.name));
    }
  });
});
