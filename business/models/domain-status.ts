// The catch-all rule (DESIGN §1) and the monotone rank that lets caches, buffers
// and nodes merge views of a domain by taking the maximum.
import { Counts } from './counts';

export const DEFAULT_CATCHALL_THRESHOLD = 1000;

export type DomainStatus = 'unknown' | 'catch-all' | 'not catch-all';

const RANKS: Record<DomainStatus, number> = { unknown: 0, 'catch-all': 1, 'not catch-all': 2 };
const BY_RANK: readonly DomainStatus[] = ['unknown', 'catch-all', 'not catch-all'];

/** Any bounce makes a domain not catch-all; more than `threshold` deliveries and no bounce make it catch-all. */
export function classify(counts: Counts, threshold: number = DEFAULT_CATCHALL_THRESHOLD): DomainStatus {
  if (counts.bounced >= 1) return 'not catch-all';
  if (counts.delivered > threshold) return 'catch-all';
  return 'unknown';
}

export function statusRank(status: DomainStatus): number {
  return RANKS[status];
}

/** Merging two views of one domain keeps the later status in the order unknown → catch-all → not catch-all. */
export function mergeStatus(a: DomainStatus, b: DomainStatus): DomainStatus {
  return BY_RANK[Math.max(RANKS[a], RANKS[b])];
}

/** What the API answers for a domain. */
export interface DomainReport extends Counts {
  domain: string;
  status: DomainStatus;
}

export function report(domain: string, counts: Counts, threshold: number): DomainReport {
  return { domain, status: classify(counts, threshold), delivered: counts.delivered, bounced: counts.bounced };
}
