// Status transitions, detected exactly at flush time. A flush knows each
// domain's delta and the store answers with the new totals, so the status before
// the flush is that of (new totals − delta): no extra read, and no other node's
// write can slip in between (the store computes both under the domain's row lock).
// A flush that takes a domain through two steps (unknown → catch-all → not
// catch-all) yields one net transition, unknown → not catch-all.
import { Counts, DomainCounts } from './counts';
import { DomainStatus, classify } from './domain-status';

/** A change of status of one domain, with the totals right after it. */
export interface StatusTransition extends Counts {
  domain: string;
  from: DomainStatus;
  to: DomainStatus;
}

/** The transition a delta caused, given the totals after it; undefined when the status did not change. */
export function detectTransition(
  domain: string,
  totals: Counts,
  delta: Counts,
  threshold: number,
): StatusTransition | undefined {
  const before = { delivered: totals.delivered - delta.delivered, bounced: totals.bounced - delta.bounced };
  const from = classify(before, threshold);
  const to = classify(totals, threshold);
  if (from === to) return undefined;
  return { domain, from, to, delivered: totals.delivered, bounced: totals.bounced };
}

/** Transitions of one flush, in the order of `totals`. A row without a delta is skipped. */
export function detectTransitions(
  totals: readonly DomainCounts[],
  deltas: ReadonlyMap<string, Counts>,
  threshold: number,
): StatusTransition[] {
  const out: StatusTransition[] = [];
  for (const row of totals) {
    const delta = deltas.get(row.name);
    if (!delta) continue;
    const t = detectTransition(row.name, row, delta, threshold);
    if (t) out.push(t);
  }
  return out;
}
