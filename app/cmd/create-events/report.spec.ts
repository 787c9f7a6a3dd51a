// The report: percentiles from the HDR histogram, expected tallies, exit status and the printed form.
import { build } from 'hdr-histogram-js';
import { zeroCounts } from '../../../business/models';
import { DomainPlan } from './distribution';
import { Options, withDefaults } from './options';
import { Report, buildReport, exitCode, formatReport, latencySummary } from './report';
import { DomainTally, newStats } from './runner';
import { Verification } from './verify';

const options = (draft: Partial<Options> = {}): Options => withDefaults({ seed: 7, ...draft }, {});

const tally = (name: string, delivered: number, bounced: number): DomainTally => {
  const plan: DomainPlan = { index: 0, name, max: delivered + bounced, bounceEvery: 0, count: delivered + bounced };
  return { plan, key: name.toLowerCase(), acked: { delivered, bounced }, uncertain: zeroCounts() };
};

const passed = (domains: number): Verification => ({ outcome: 'passed', domains, matched: domains, inconclusive: 0, mismatches: [] });

describe('latencySummary', () => {
  it('reads percentiles to 3 significant digits, in milliseconds', () => {
    const h = build();
    for (let us = 1; us <= 100_000; us++) h.recordValue(us); // 1 µs … 100 ms, evenly
    const s = latencySummary(h);
    expect(s.count).toBe(100_000);
    for (const [got, want] of [[s.p50, 50], [s.p95, 95], [s.p99, 99], [s.max, 100]]) {
      expect(Math.abs(got - want) / want).toBeLessThan(0.001);
    }
  });

  it('keeps a single slow outlier visible in max and out of p99', () => {
    const h = build();
    for (let i = 0; i < 999; i++) h.recordValue(2000);
    h.recordValue(1_500_000);
    const s = latencySummary(h);
    expect(s.p99).toBeCloseTo(2, 2);
    expect(s.max).toBeCloseTo(1500, -1);
  });

  it('is all zeros when nothing was answered', () => {
    expect(latencySummary(build())).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 });
  });
});

describe('buildReport', () => {
  const stats = () => {
    const s = newStats();
    s.domains.push(tally('Aaaa.com', 1001, 0), tally('bbbb.com', 1000, 0), tally('cccc.com', 5, 1), tally('dddd.com', 0, 0));
    s.eventsSent = 2007;
    s.eventsAcked = 2007;
    s.requestsSent = 2007;
    s.requestsAcked = 2007;
    s.durationMs = 2000;
    return s;
  };

  it('tallies the statuses the service should show, and the rates', () => {
    const r = buildReport(options(), stats(), () => zeroCounts(), passed(4));
    expect(r.expected).toEqual({ 'catch-all': 1, 'not catch-all': 1, unknown: 2 });
    expect(r.eventsPerSecond).toBe(1004);
    expect(r.domains).toBe(4);
    expect(r.rate).toBeNull();
    expect(r.maxLagMs).toBeUndefined();
  });

  it('adds counts held before the run, and follows --threshold', () => {
    const before = (key: string) => (key === 'bbbb.com' ? { delivered: 1, bounced: 0 } : zeroCounts());
    expect(buildReport(options(), stats(), before, passed(4)).expected['catch-all']).toBe(2);
    expect(buildReport(options({ threshold: 4 }), stats(), () => zeroCounts(), passed(4)).expected).toEqual({
      'catch-all': 2,
      'not catch-all': 1,
      unknown: 1,
    });
  });
});

describe('exitCode', () => {
  const base = (): Report => buildReport(options(), newStats(), () => zeroCounts(), passed(0));
  it('is 0 only when all events were acknowledged and nothing was found wrong or left open', () => {
    expect(exitCode(base())).toBe(0);
    expect(exitCode({ ...base(), verification: { ...passed(0), outcome: 'skipped' } })).toBe(0);
    expect(exitCode({ ...base(), verification: { ...passed(0), outcome: 'off' } })).toBe(0);
    expect(exitCode({ ...base(), verification: { ...passed(0), outcome: 'failed' } })).toBe(1);
    expect(exitCode({ ...base(), verification: { ...passed(0), outcome: 'inconclusive' } })).toBe(1);
    expect(exitCode({ ...base(), events: { sent: 2, acknowledged: 1, failed: 1 } })).toBe(1);
    expect(exitCode({ ...base(), stoppedEarly: 'the service went away' })).toBe(1);
  });
});

describe('formatReport', () => {
  it('shows errors by status, the latency basis, and each mismatch', () => {
    const s = newStats();
    s.errors = { '503': 3, ECONNRESET: 5 };
    const verification: Verification = {
      outcome: 'failed',
      domains: 2,
      matched: 1,
      inconclusive: 0,
      mismatches: [
        {
          domain: 'abc.com',
          problem: 'counts differ',
          expected: { status: 'not catch-all', delivered: [10, 10], bounced: [2, 2] },
          actual: { domain: 'abc.com', status: 'not catch-all', delivered: 9, bounced: 2 },
        },
      ],
    };
    const text = formatReport(buildReport(options({ mode: 'batch', rate: 1000 }), s, () => zeroCounts(), verification));
    expect(text).toContain('errors     ECONNRESET ×5, 503 ×3');
    expect(text).toContain('open loop at 1,000 events/s');
    expect(text).toContain('per request of up to 500 events, from its scheduled time');
    expect(text).toContain('verify     FAILED: 1 of 2 domains differ');
    expect(text).toContain('abc.com: counts differ; expected not catch-all 10/2, got not catch-all 9/2');
  });

  it('says plainly when verification was skipped and why', () => {
    const v: Verification = { outcome: 'skipped', note: 'the domains already had counts', domains: 0, matched: 0, inconclusive: 0, mismatches: [] };
    expect(formatReport(buildReport(options(), newStats(), () => zeroCounts(), v))).toContain(
      'verify     skipped: the domains already had counts',
    );
  });
});
