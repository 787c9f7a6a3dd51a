// The lookup service: a domain's status from the store's totals plus this node's
// own unflushed deltas, so a client reads its own writes on the node it wrote
// to, and successive reads on one node never go down.
import { addCounts, Counts, DomainName, DomainReport, report, zeroCounts } from '../models';
import { CounterStore } from '../ports';
import { StoreUnavailableError } from './errors';
import { ReadBatcher } from './read-batcher';

/** This node's deltas not in the store yet (the ingest service; see ReadFence). */
export interface LocalDeltas {
  /** Runs `read` and returns its answer with the local deltas of `names`, each counted exactly once. */
  readWithLocal<T>(names: readonly string[], read: () => Promise<T>): Promise<{ stored: T; local: Map<string, Counts> }>;
}

export class LookupService {
  private readonly reads: ReadBatcher;

  constructor(
    store: CounterStore,
    private readonly local: LocalDeltas,
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
    let local: Map<string, Counts>;
    try {
      ({ stored, local } = await this.local.readWithLocal(unique, () => this.reads.read(unique)));
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
    return domains.map((name) => {
      const base = stored.get(name) ?? zeroCounts();
      const extra = local.get(name);
      return report(name, extra ? addCounts(base, extra) : base, this.threshold);
    });
  }
}
