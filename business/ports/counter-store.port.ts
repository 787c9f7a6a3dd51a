// The counter-store port: where per-domain counts live. The ingest service hands
// it one coalesced batch of deltas per flush; the lookup service reads many
// domains in one call. Adapters: business/adapters/memory, business/adapters/postgres.
import { Counts, DomainCounts, DomainStatus } from '../models';

/** Deltas of one flush: normalised domain name → counts to add. */
export type CountDeltas = ReadonlyMap<string, Counts>;

export interface ApplyOptions {
  /**
   * Whether the caller wants the new totals back (default true). The ingest
   * service does not; a store may then skip reading them (PostgreSQL: no
   * RETURNING, a quarter less work per row) and return an empty list.
   */
  totals?: boolean;
}

/** One page of a listing by name (keyset): the domains after `after`, in name order. */
export interface ListQuery {
  /** Only domains of this status; all when absent. */
  status?: DomainStatus;
  /**
   * The catch-all threshold of the service. A store that keeps each domain's
   * status as it writes (PostgreSQL: domains.status) uses the one it wrote
   * with, the same in a running service; the memory store classifies with this.
   */
  threshold: number;
  /** Only names strictly after this one (byte order); from the first when absent. */
  after?: string;
  /** At most this many domains. */
  limit: number;
}

export abstract class CounterStore {
  /** A short name for logs, metrics and health ("memory", "postgres"). */
  abstract readonly kind: string;

  /**
   * Adds every delta atomically (all or nothing) and returns the new totals of
   * the domains it touched (unless options.totals is false). Throws when the
   * batch was not stored.
   */
  abstract apply(deltas: CountDeltas, options?: ApplyOptions): Promise<DomainCounts[]>;

  /** Totals of the domains asked for; a domain the store never saw is absent. */
  abstract read(names: readonly string[]): Promise<Map<string, Counts>>;

  /**
   * The stored domains matching the query, ordered by name (byte order), at
   * most query.limit of them. Reads the store only (not a node's unflushed
   * deltas); each call is a consistent snapshot on its own.
   */
  abstract list(query: ListQuery): Promise<DomainCounts[]>;

  /** Resolves when the store can serve; throws with the reason when it cannot. */
  abstract ping(): Promise<void>;

  /** Releases connections. Called once, after the last flush. */
  abstract close(): Promise<void>;
}
