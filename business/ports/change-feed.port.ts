// The change-feed port: the ordered log of status transitions. The counter store
// appends to it inside apply (in the same transaction as the counts, where the
// store has transactions), so readers only read and wait. Ids grow in commit
// order: a reader that has seen every id up to `after` never finds a lower id
// appear later. Adapters: business/adapters/memory (a bounded ring in this
// process), business/adapters/postgres (the status_changes table).
import { StatusTransition } from '../models';

/** A recorded transition: its position in the feed and when it was recorded. */
export interface Change extends StatusTransition {
  id: number;
  at: Date;
}

/** What health output says about a feed. */
export interface ChangeFeedState {
  /** False when the feed keeps only the latest changes in this process (memory). */
  durable: boolean;
  detail: Record<string, string | number | boolean>;
}

export abstract class ChangeFeed {
  abstract readonly kind: string;

  /** Up to `limit` changes with id > after, oldest first. */
  abstract read(after: number, limit: number): Promise<Change[]>;

  /**
   * Resolves true as soon as a change with id > after is readable, false at the
   * deadline (epoch ms) or when the signal aborts. Never rejects.
   */
  abstract wait(after: number, deadline: number, signal?: AbortSignal): Promise<boolean>;

  /** Deletes up to `batch` changes recorded before `before`; returns how many it deleted. */
  abstract prune(before: Date, batch: number): Promise<number>;

  abstract state(): ChangeFeedState;

  abstract close(): Promise<void>;
}
