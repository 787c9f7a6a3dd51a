// The webhook-state port: where each endpoint's delivery stands (its cursor in
// the change feed), which node delivers to it now (a lease), and the deliveries
// given up after the last attempt (parked). The deliverer
// (business/services/webhook-deliverer.ts) advances the cursor only after the
// endpoint answered 2xx, so a crash redelivers rather than skips. Adapters:
// business/adapters/memory (this process only), business/adapters/postgres
// (webhook_cursors and webhook_failures: survives restarts, shared by nodes).

/** A delivery given up after its last attempt. */
export interface WebhookFailure {
  /** The endpoint's key (see WebhookEndpoint.key). */
  endpoint: string;
  /** The feed id of the change that was not delivered. */
  changeId: number;
  attempts: number;
  lastError: string;
  at: Date;
}

/** What health output says about the delivery state. */
export interface WebhookStateInfo {
  /** False when the state lives in this process only (memory). */
  durable: boolean;
  detail: Record<string, string | number | boolean>;
}

export abstract class WebhookState {
  abstract readonly kind: string;

  /**
   * Takes the endpoint's lease for `owner` until `ttlMs` from now, or renews it
   * when `owner` holds it already. Resolves the endpoint's cursor (the last
   * feed id it acknowledged, 0 for a new endpoint) when the lease is `owner`'s,
   * undefined while another owner's lease has not expired.
   */
  abstract acquire(endpoint: string, owner: string, ttlMs: number): Promise<number | undefined>;

  /**
   * Moves the cursor to `cursor` (an acknowledged delivery) and renews the
   * lease. False when `owner` no longer holds the lease: another node took the
   * endpoint over, and this one must stop delivering to it.
   */
  abstract advance(endpoint: string, owner: string, cursor: number, ttlMs: number): Promise<boolean>;

  /**
   * Records a parked delivery and moves the cursor past it, both or neither.
   * False (and nothing recorded) when `owner` no longer holds the lease.
   */
  abstract park(failure: WebhookFailure, owner: string, ttlMs: number): Promise<boolean>;

  /** Gives the lease up (on shutdown), so another node may take the endpoint at once. */
  abstract release(endpoint: string, owner: string): Promise<void>;

  /** The latest parked deliveries, newest first. */
  abstract failures(limit: number): Promise<WebhookFailure[]>;

  /** Deletes up to `batch` parked deliveries recorded before `before`; returns how many it deleted. */
  abstract pruneFailures(before: Date, batch: number): Promise<number>;

  /** Parked deliveries recorded per endpoint key. */
  abstract parkedCounts(): Promise<Map<string, number>>;

  abstract info(): WebhookStateInfo;
}
