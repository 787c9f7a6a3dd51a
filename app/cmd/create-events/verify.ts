// Checks the service against what a run sent: looks every generated domain up
// (POST /domains/lookup, at most 1000 a request) before the run, to know the
// counts it starts from, and after it, to compare status and counts. Events of
// failed requests may or may not have been counted, so a domain that had some
// is judged by a range and called inconclusive, never passed or failed on a guess.
import { setTimeout as sleep } from 'node:timers/promises';
import { Counts, DomainStatus, addCounts, classify, zeroCounts } from '../../../business/models';
import { HttpClient } from './http';
import { DomainTally } from './runner';

const LOOKUP_BATCH = 1000;
const LOOKUP_PARALLEL = 4;
// Behind a load balancer another node may show an acknowledged event up to one
// flush interval late: look again before calling a short count a mismatch.
const SETTLE_ATTEMPTS = 3;
const SETTLE_PAUSE_MS = 500;

export interface DomainView extends Counts {
  domain: string;
  status: DomainStatus;
}

type Outcome = 'passed' | 'failed' | 'inconclusive' | 'skipped' | 'off';

interface Mismatch {
  domain: string;
  expected: { status: DomainStatus | 'any'; delivered: [number, number]; bounced: [number, number] };
  actual?: DomainView;
  problem: string;
}

export interface Verification {
  outcome: Outcome;
  /** Why verification was skipped, or what made it inconclusive. */
  note?: string;
  domains: number;
  matched: number;
  inconclusive: number;
  mismatches: Mismatch[];
}

/** Counts the service held before the run, per lower-case domain; `undefined` when not known. */
export type Baseline = (key: string) => Counts | undefined;

class LookupError extends Error {}

/** Bulk lookup, keyed by lower-case domain name. */
export async function lookupAll(client: HttpClient, keys: readonly string[]): Promise<Map<string, DomainView>> {
  const found = new Map<string, DomainView>();
  const chunks: string[][] = [];
  for (let i = 0; i < keys.length; i += LOOKUP_BATCH) chunks.push(keys.slice(i, i + LOOKUP_BATCH));
  const worker = async (): Promise<void> => {
    for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
      const answer = await client.request('POST', '/domains/lookup', JSON.stringify({ domains: chunk }), 'application/json');
      if (answer.status !== 200) {
        throw new LookupError(`POST /domains/lookup answered ${answer.status}: ${answer.body.slice(0, 200)}`);
      }
      for (const view of (JSON.parse(answer.body) as { results: DomainView[] }).results) {
        found.set(view.domain.toLowerCase(), view);
      }
    }
  };
  await Promise.all(Array.from({ length: LOOKUP_PARALLEL }, worker));
  return found;
}

/** The domains that already have counts, among those looked up. */
export function notFresh(views: Map<string, DomainView>): DomainView[] {
  return [...views.values()].filter((v) => v.delivered !== 0 || v.bounced !== 0);
}

type Judgement =
  | { kind: 'match' }
  | { kind: 'inconclusive'; why: 'failed requests' | 'unknown starting counts' }
  | { kind: 'mismatch'; mismatch: Mismatch };

/**
 * One domain: its counts must lie between "before + acknowledged" and that plus
 * the events of failed requests, and its status must follow the rule from its
 * counts. Exactly equal bounds make the check conclusive.
 */
export function judgeDomain(tally: DomainTally, before: Counts | undefined, actual: DomainView | undefined, threshold: number): Judgement {
  if (before === undefined) return { kind: 'inconclusive', why: 'unknown starting counts' };
  const low = addCounts(before, tally.acked);
  const high = addCounts(low, tally.uncertain);
  const exact = high.delivered === low.delivered && high.bounced === low.bounced;
  const expected: Mismatch['expected'] = {
    status: exact ? classify(low, threshold) : 'any',
    delivered: [low.delivered, high.delivered],
    bounced: [low.bounced, high.bounced],
  };
  const fail = (problem: string): Judgement => ({ kind: 'mismatch', mismatch: { domain: tally.key, expected, actual, problem } });
  if (!actual) return fail('missing from the lookup answer');
  const within = (n: number, [lo, hi]: [number, number]) => n >= lo && n <= hi;
  if (!within(actual.delivered, expected.delivered) || !within(actual.bounced, expected.bounced)) return fail('counts differ');
  if (actual.status !== classify(actual, threshold)) return fail('status does not follow from the counts');
  return exact ? { kind: 'match' } : { kind: 'inconclusive', why: 'failed requests' };
}

export function compare(
  tallies: readonly DomainTally[],
  views: Map<string, DomainView>,
  baseline: Baseline,
  threshold: number,
): Verification {
  const result: Verification = { outcome: 'passed', domains: tallies.length, matched: 0, inconclusive: 0, mismatches: [] };
  const why = new Map<string, number>();
  for (const tally of tallies) {
    const judgement = judgeDomain(tally, baseline(tally.key), views.get(tally.key), threshold);
    if (judgement.kind === 'match') result.matched++;
    else if (judgement.kind === 'mismatch') result.mismatches.push(judgement.mismatch);
    else {
      result.inconclusive++;
      why.set(judgement.why, (why.get(judgement.why) ?? 0) + 1);
    }
  }
  if (result.mismatches.length > 0) result.outcome = 'failed';
  else if (result.inconclusive > 0) result.outcome = 'inconclusive';
  if (why.size > 0) {
    const reasons = [...why].map(([reason, n]) => `${n} with ${reason}`).join(', ');
    result.note = `${result.inconclusive} domain(s) cannot be checked exactly (${reasons}), but their counts lie within what may have been counted`;
  }
  return result;
}

/** Looks the run's domains up and compares; short counts get a few more looks before they count as mismatches. */
export async function verifyRun(
  client: HttpClient,
  tallies: readonly DomainTally[],
  baseline: Baseline,
  threshold: number,
): Promise<Verification> {
  const views = await lookupAll(client, tallies.map((t) => t.key));
  let result = compare(tallies, views, baseline, threshold);
  for (let attempt = 0; attempt < SETTLE_ATTEMPTS && result.mismatches.some(isShort); attempt++) {
    await sleep(SETTLE_PAUSE_MS);
    const again = new Set(result.mismatches.filter(isShort).map((m) => m.domain));
    for (const [key, view] of await lookupAll(client, [...again])) views.set(key, view);
    result = compare(tallies, views, baseline, threshold);
  }
  return result;
}

const isShort = (m: Mismatch): boolean =>
  m.actual !== undefined && (m.actual.delivered < m.expected.delivered[0] || m.actual.bounced < m.expected.bounced[0]);

/** A run that starts from nothing: every domain at zero. */
export const zeroBaseline: Baseline = () => zeroCounts();
