// The lookup service: a domain's status from the store's totals plus this node's
// own unflushed deltas, so a client reads its own writes on the node it wrote to.
import { addCounts, Counts, DomainName, DomainReport, report, zeroCounts } from '../models';
import { CounterStore } from '../ports';
import { StoreUnavailableError } from './errors';
import { ReadBatcher } from './read-batcher';

/** Where unflushed deltas come from (the ingest service). */
export interface UnflushedSource {
  unflushed(names: readonly string[]): Map<string, Counts>;
}

export class LookupService {
  private readonly reads: ReadBatcher;

  constructor(
    store: CounterStore,
    private readonly unflushed: UnflushedSource,
    private readonly threshold: number,
  ) {
    this.reads = new ReadBatcher(store);
  }

  async lookup(domain: DomainName): Promise<DomainReport> {
    const [result] = await this.lookupMany([domain]);
    return result;
  }

  /** One report per name asked for, in the same order; duplicates are answered twice. */
  async lookupMany(domains: readonly DomainName[]): Promise<DomainReport[]> {
    const unique = domains.length > 1 ? [...new Set(domains)] : domains;
    let stored: Map<string, Counts>;
    try {
      stored = await this.reads.read(unique);
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
    const local = this.unflushed.unflushed(unique);
    return domains.map((name) => {
      const base = stored.get(name) ?? zeroCounts();
      const extra = local.get(name);
      return report(name, extra ? addCounts(base, extra) : base, this.threshold);
    });
  }
}
