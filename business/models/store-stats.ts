// Exact totals of a store: domains per status and events per type. Kept up to
// date by each flush from what it already knows (its deltas, the new totals,
// whether a domain is new), never by counting the store. A new domain counts in
// its status after the flush; a transition moves one domain between statuses.
import { Counts } from './counts';
import { DomainStatus, classify } from './domain-status';

export interface StoreStats {
  domains: Record<DomainStatus, number>;
  events: Counts;
}

export function emptyStats(): StoreStats {
  return { domains: { unknown: 0, 'catch-all': 0, 'not catch-all': 0 }, events: { delivered: 0, bounced: 0 } };
}

/**
 * Adds one domain's flush to `stats`: its delta, and its status change (or its
 * arrival when `created`, the totals equal to the delta).
 */
export function countFlushedDomain(stats: StoreStats, totals: Counts, delta: Counts, created: boolean, threshold: number): void {
  stats.events.delivered += delta.delivered;
  stats.events.bounced += delta.bounced;
  const to = classify(totals, threshold);
  if (created) {
    stats.domains[to] += 1;
    return;
  }
  const from = classify({ delivered: totals.delivered - delta.delivered, bounced: totals.bounced - delta.bounced }, threshold);
  if (from === to) return;
  stats.domains[from] -= 1;
  stats.domains[to] += 1;
}
