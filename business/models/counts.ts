// Per-domain counters. Counting is commutative, so counts from any number of
// nodes or flushes merge by addition.
export interface Counts {
  delivered: number;
  bounced: number;
}

/** A domain with its counts, as a store returns it. */
export interface DomainCounts extends Counts {
  name: string;
}

export function zeroCounts(): Counts {
  return { delivered: 0, bounced: 0 };
}

export function addCounts(a: Counts, b: Counts): Counts {
  return { delivered: a.delivered + b.delivered, bounced: a.bounced + b.bounced };
}
