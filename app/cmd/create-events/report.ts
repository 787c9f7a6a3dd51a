// The final report of a run: one object (printed as JSON with --json) and its
// human-readable form. Latency percentiles come from an HDR histogram, so p99
// and max are exact to 3 significant digits however many requests were sent.
import { Histogram } from 'hdr-histogram-js';
import { DomainStatus, addCounts, classify, zeroCounts } from '../../../business/models';
import { Options } from './options';
import { RunStats } from './runner';
import { Baseline, Verification } from './verify';

export interface LatencySummary {
  /** Answered requests the figures are drawn from. */
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface Report {
  url: string;
  mode: Options['mode'];
  order: Options['order'];
  batchSize: number;
  concurrency: number;
  seed: number;
  /** Open loop target in events/s; null for a closed loop. */
  rate: number | null;
  threshold: number;
  events: { sent: number; acknowledged: number; failed: number };
  requests: { sent: number; acknowledged: number; failed: number };
  /** Failed attempts by HTTP status or network error code. */
  errors: Record<string, number>;
  durationMs: number;
  eventsPerSecond: number;
  requestsPerSecond: number;
  /** Per request, in milliseconds; open loop: from the time the request was due. */
  latencyMs: LatencySummary;
  /** Open loop only: the worst delay between a request's due time and its sending. */
  maxLagMs?: number;
  /** Why the run ended before its limit, if it did. */
  stoppedEarly?: string;
  domains: number;
  /** What the service should show for the run's domains, from the acknowledged events. */
  expected: Record<DomainStatus, number>;
  verification: Verification;
}

const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

/** Histogram values are microseconds; the summary is in milliseconds. */
export function latencySummary(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  const ms = (us: number) => round(us / 1000);
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

export function buildReport(options: Options, stats: RunStats, baseline: Baseline, verification: Verification): Report {
  const expected: Record<DomainStatus, number> = { 'catch-all': 0, 'not catch-all': 0, unknown: 0 };
  for (const t of stats.domains) expected[classify(addCounts(baseline(t.key) ?? zeroCounts(), t.acked), options.threshold)]++;
  const seconds = stats.durationMs / 1000;
  return {
    url: options.url,
    mode: options.mode,
    order: options.order,
    batchSize: options.batchSize,
    concurrency: options.concurrency,
    seed: options.seed,
    rate: options.rate ?? null,
    threshold: options.threshold,
    events: { sent: stats.eventsSent, acknowledged: stats.eventsAcked, failed: stats.eventsFailed },
    requests: { sent: stats.requestsSent, acknowledged: stats.requestsAcked, failed: stats.requestsFailed },
    errors: stats.errors,
    durationMs: round(stats.durationMs, 1),
    eventsPerSecond: seconds > 0 ? Math.round(stats.eventsAcked / seconds) : 0,
    requestsPerSecond: seconds > 0 ? Math.round(stats.requestsAcked / seconds) : 0,
    latencyMs: latencySummary(stats.latency),
    ...(options.rate === undefined ? {} : { maxLagMs: round(stats.maxLagMs, 1) }),
    ...(stats.stoppedEarly ? { stoppedEarly: stats.stoppedEarly } : {}),
    domains: stats.domains.length,
    expected,
    verification,
  };
}

/** 0 only when every event was acknowledged and nothing verification could check was wrong or left open. */
export function exitCode(report: Report): 0 | 1 {
  const outcome = report.verification.outcome;
  const clean = report.events.failed === 0 && !report.stoppedEarly;
  return clean && outcome !== 'failed' && outcome !== 'inconclusive' ? 0 : 1;
}

const num = (n: number): string => n.toLocaleString('en-US');
const MAX_MISMATCHES_SHOWN = 20;

export function formatReport(r: Report): string {
  const loop = r.rate === null ? `closed loop, ${r.concurrency} in flight` : `open loop at ${num(r.rate)} events/s`;
  const per = r.mode === 'single' ? 'per request' : `per request of up to ${num(r.batchSize)} events`;
  const lat = r.latencyMs;
  const lines = [
    `create-events → ${r.url}  (mode ${r.mode}, ${r.order}, ${loop}, seed ${r.seed})`,
    `  events     ${num(r.events.sent)} sent, ${num(r.events.acknowledged)} acknowledged, ${num(r.events.failed)} failed` +
      (r.mode === 'single' ? '' : `  (${num(r.requests.sent)} requests)`),
    `  errors     ${formatErrors(r.errors)}`,
    `  duration   ${(r.durationMs / 1000).toFixed(2)} s   ${num(r.eventsPerSecond)} events/s` +
      (r.mode === 'single' ? '' : `   ${num(r.requestsPerSecond)} requests/s`),
    `  latency    p50 ${lat.p50} ms   p95 ${lat.p95} ms   p99 ${lat.p99} ms   max ${lat.max} ms   (${per}` +
      (r.rate === null ? ')' : ', from its scheduled time)'),
  ];
  if (r.stoppedEarly) lines.push(`  STOPPED    early: ${r.stoppedEarly}`);
  if (r.maxLagMs !== undefined && r.maxLagMs > 100) {
    lines.push(`  schedule   fell up to ${num(r.maxLagMs)} ms behind the requested rate`);
  }
  lines.push(
    `  domains    ${num(r.domains)}: expected ${num(r.expected['catch-all'])} catch-all, ` +
      `${num(r.expected['not catch-all'])} not catch-all, ${num(r.expected.unknown)} unknown`,
    `  verify     ${formatVerification(r.verification)}`,
  );
  for (const m of r.verification.mismatches.slice(0, MAX_MISMATCHES_SHOWN)) {
    const got = m.actual ? `${m.actual.status} ${m.actual.delivered}/${m.actual.bounced}` : 'nothing';
    const want = `${m.expected.status} ${span(m.expected.delivered)}/${span(m.expected.bounced)}`;
    lines.push(`    ${m.domain}: ${m.problem}; expected ${want}, got ${got} (status delivered/bounced)`);
  }
  if (r.verification.mismatches.length > MAX_MISMATCHES_SHOWN) {
    lines.push(`    … and ${num(r.verification.mismatches.length - MAX_MISMATCHES_SHOWN)} more (--json lists them all)`);
  }
  return lines.join('\n') + '\n';
}

function formatErrors(errors: Record<string, number>): string {
  const entries = Object.entries(errors).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? 'none' : entries.map(([key, n]) => `${key} ×${num(n)}`).join(', ');
}

const span = ([lo, hi]: [number, number]): string => (lo === hi ? String(lo) : `${lo}–${hi}`);

function formatVerification(v: Verification): string {
  switch (v.outcome) {
    case 'off':
      return 'not run (--no-verify)';
    case 'skipped':
      return `skipped: ${v.note}`;
    case 'passed':
      return `passed: all ${num(v.domains)} domains show the expected status and counts`;
    case 'inconclusive':
      return `inconclusive: ${num(v.matched)} of ${num(v.domains)} domains match exactly; ${v.note}`;
    case 'failed':
      return `FAILED: ${num(v.mismatches.length)} of ${num(v.domains)} domains differ` + (v.note ? `; ${v.note}` : '');
  }
}
