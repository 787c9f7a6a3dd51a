// The listing service: domains by status, a keyset page at a time (GET
// /domains) or every match as batches of pages (GET /domains/export). It reads
// the store only, so a domain shows its status as of the last flush (a node's
// own unflushed events are not in a listing; lookups do add them).
import { DomainReport, DomainStatus, report } from '../models';
import { CounterStore } from '../ports';
import { StoreUnavailableError } from './errors';

export interface DomainPage {
  domains: DomainReport[];
  /** The last name of this page when more may follow; null when this page ends the listing. */
  next: string | null;
}

/** Rows per store call while exporting: large enough to be cheap per row, small enough to stay flat in memory. */
const EXPORT_BATCH = 1000;

export class ListingService {
  constructor(
    private readonly store: CounterStore,
    private readonly threshold: number,
  ) {}

  /** Up to `limit` domains after `after`, in name order. Asks for one more row to know whether another page follows. */
  async page(status: DomainStatus | undefined, limit: number, after?: string): Promise<DomainPage> {
    const rows = await this.list(status, limit + 1, after);
    const more = rows.length > limit;
    const domains = (more ? rows.slice(0, limit) : rows).map((r) => report(r.name, r, this.threshold));
    return { domains, next: more ? domains[domains.length - 1].domain : null };
  }

  /**
   * Every matching domain, a batch at a time. Each batch is one store call made
   * only when the consumer asks for it, so a slow or departed consumer holds
   * back (or ends) the reading: memory stays at one batch.
   */
  async *export(status: DomainStatus | undefined, batch = EXPORT_BATCH): AsyncGenerator<DomainReport[]> {
    let after: string | undefined;
    for (;;) {
      const rows = await this.list(status, batch, after);
      if (rows.length > 0) yield rows.map((r) => report(r.name, r, this.threshold));
      if (rows.length < batch) return;
      after = rows[rows.length - 1].name;
    }
  }

  private async list(status: DomainStatus | undefined, limit: number, after: string | undefined) {
    try {
      return await this.store.list({ status, threshold: this.threshold, after, limit });
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }
}
