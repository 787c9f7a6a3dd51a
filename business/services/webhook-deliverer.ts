// Webhook delivery (issue 13): every change of the feed is POSTed to every
// configured endpoint, in feed order per endpoint, at least once.
//
// One loop per endpoint. It first takes the endpoint's lease in the shared
// state (WebhookState), so that with several nodes one node delivers to an
// endpoint at a time; the others wait and take the lease over once it expires
// (a node that died) or is released (a node that stopped). The holder reads the
// feed after the endpoint's cursor, sends each change and moves the cursor
// only after a 2xx, so a crash between the send and the cursor's update sends
// that change again, with the same webhook-id: receivers deduplicate on it.
// A failed attempt is retried with exponential backoff and jitter; after
// maxAttempts the delivery is parked (recorded with its last error, cursor
// moved past it) and the next change goes on. The lease is renewed while the
// loop works or waits, and every cursor move checks that this node still holds
// it; a node that lost it stops at once (the new holder resends what was not
// acknowledged).
//
// The loops run beside ingest and share nothing with it but the feed, which
// they only read: a slow or dead endpoint never slows a flush.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Change, ChangeFeed, WebhookFailure, WebhookMessage, WebhookSender, WebhookState } from '../ports';

/** The `type` of every message this service sends. */
const STATUS_CHANGED_TYPE = 'domain.status_changed';

export interface WebhookEndpoint {
  /** A short, stable name of the URL (a hash): metric label, state key, part of webhook-id. */
  key: string;
  url: string;
}

export interface WebhookDelivererOptions {
  /** This node's name in the leases (unique per process). */
  owner: string;
  maxAttempts: number;
  /** The delay after the first failed attempt; it doubles after each next one, up to backoffMaxMs. */
  backoffMs: number;
  backoffMaxMs: number;
  /** How long a lease lasts without renewal; it is renewed every third of it. */
  leaseMs: number;
  /** Changes read from the feed at once. */
  batch: number;
  /** The `data` of a message: the change as GET /changes shows it. */
  render(change: Change): unknown;
  /** Random numbers in [0, 1) for the jitter (tests pass their own). */
  random?: () => number;
}

export interface WebhookObserver {
  delivered?(endpoint: string, change: Change, attempts: number): void;
  attemptFailed?(endpoint: string, change: Change, attempt: number, error: string): void;
  parked?(failure: WebhookFailure): void;
  /** This node took (true) or lost (false) an endpoint's lease. */
  lease?(endpoint: string, held: boolean): void;
  /** The state store failed (the loop backs off and retries). */
  stateFailed?(endpoint: string, err: unknown): void;
}

/** A short hash of an endpoint's URL: stable across restarts and nodes. */
export function endpointKey(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 12);
}

/** The webhook-id of a change sent to an endpoint: the same on every attempt, node and restart. */
export function webhookId(changeId: number, endpoint: string): string {
  return `msg_${changeId}_${endpoint}`;
}

/** Delay before attempt `attempt + 1`: doubling from `base`, capped, with "equal jitter" (half fixed, half random). */
export function backoffDelay(attempt: number, base: number, max: number, random: () => number = Math.random): number {
  const full = Math.min(max, base * 2 ** Math.min(attempt - 1, 30));
  return Math.round(full / 2 + random() * (full / 2));
}

/** How long close() waits for each lease to be given up. */
const RELEASE_TIMEOUT_MS = 2_000;

type Delivery = { kind: 'delivered'; attempts: number } | { kind: 'parked'; attempts: number; lastError: string } | { kind: 'lost' };

/** Renews the lease when a third of it has passed; false once this node lost it. */
type Renew = () => Promise<boolean>;

export class WebhookDeliverer {
  private readonly stop = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly random: () => number;

  constructor(
    private readonly feed: ChangeFeed,
    private readonly state: WebhookState,
    private readonly sender: WebhookSender,
    readonly endpoints: readonly WebhookEndpoint[],
    private readonly options: WebhookDelivererOptions,
    private readonly observer: WebhookObserver = {},
  ) {
    if (!(options.maxAttempts >= 1)) throw new RangeError('maxAttempts must be at least 1');
    if (!(options.leaseMs >= 3)) throw new RangeError('leaseMs must be at least 3');
    this.random = options.random ?? Math.random;
  }

  start(): void {
    if (this.loops.length > 0 || this.stopping) return;
    this.loops = this.endpoints.map((ep) => this.run(ep));
  }

  /** Stops every loop (a send in flight is aborted and will be sent again later) and gives the leases up. */
  async close(): Promise<void> {
    this.stop.abort();
    await Promise.all(this.loops);
  }

  private get stopping(): boolean {
    return this.stop.signal.aborted;
  }

  private async run(ep: WebhookEndpoint): Promise<void> {
    let failures = 0;
    let held = false;
    const setHeld = (now: boolean) => {
      if (now !== held) this.observer.lease?.(ep.key, now);
      held = now;
    };
    while (!this.stopping) {
      try {
        const cursor = await this.state.acquire(ep.key, this.options.owner, this.options.leaseMs);
        failures = 0;
        if (cursor === undefined) {
          setHeld(false);
          // Another node delivers; look again within a third of a lease (with jitter, so nodes do not beat in step).
          await this.pause((this.options.leaseMs / 3) * (0.5 + this.random() / 2));
          continue;
        }
        setHeld(true);
        await this.deliverWhileHeld(ep, cursor);
        setHeld(false);
      } catch (err) {
        if (this.stopping) break;
        this.observer.stateFailed?.(ep.key, err);
        setHeld(false);
        await this.pause(backoffDelay(++failures, this.options.backoffMs, this.options.backoffMaxMs, this.random));
      }
    }
    if (held) setHeld(false);
    // Best effort and bounded: a state that does not answer must not hold the shutdown (the lease then expires).
    await Promise.race([
      this.state.release(ep.key, this.options.owner).catch(() => undefined),
      sleep(RELEASE_TIMEOUT_MS, undefined, { ref: false }),
    ]);
  }

  /** Delivers changes after `cursor` while this node holds the lease; returns once it lost it or stops. */
  private async deliverWhileHeld(ep: WebhookEndpoint, cursor: number): Promise<void> {
    const { owner, leaseMs } = this.options;
    let renewedAt = Date.now();
    const renew: Renew = async () => {
      if (Date.now() - renewedAt < leaseMs / 3) return true;
      const held = (await this.state.acquire(ep.key, owner, leaseMs)) !== undefined;
      renewedAt = Date.now();
      return held;
    };
    while (!this.stopping) {
      const changes = await this.feed.read(cursor, this.options.batch);
      if (changes.length === 0) {
        if (!(await renew())) return;
        await this.feed.wait(cursor, Date.now() + leaseMs / 3, this.stop.signal);
        continue;
      }
      for (const change of changes) {
        const outcome = await this.deliver(ep, change, renew);
        if (outcome.kind === 'lost') return;
        let still: boolean;
        if (outcome.kind === 'delivered') {
          still = await this.state.advance(ep.key, owner, change.id, leaseMs);
          if (still) this.observer.delivered?.(ep.key, change, outcome.attempts);
        } else {
          const failure: WebhookFailure = {
            endpoint: ep.key,
            changeId: change.id,
            attempts: outcome.attempts,
            lastError: outcome.lastError,
            at: new Date(),
          };
          still = await this.state.park(failure, owner, leaseMs);
          if (still) this.observer.parked?.(failure);
        }
        renewedAt = Date.now();
        if (!still) return;
        cursor = change.id;
      }
    }
  }

  /** Sends one change until a 2xx, the last attempt, the loss of the lease or the stop. */
  private async deliver(ep: WebhookEndpoint, change: Change, renew: Renew): Promise<Delivery> {
    const message: WebhookMessage = {
      id: webhookId(change.id, ep.key),
      body: JSON.stringify({ type: STATUS_CHANGED_TYPE, timestamp: change.at.toISOString(), data: this.options.render(change) }),
    };
    const { maxAttempts, backoffMs, backoffMaxMs } = this.options;
    let lastError = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.stopping || !(await renew())) return { kind: 'lost' };
      const sent = await this.sender.send(ep.url, message, this.stop.signal);
      if (sent.ok) return { kind: 'delivered', attempts: attempt };
      // Aborted by the stop: not an attempt of the endpoint's; the next holder sends it again.
      if (this.stopping) return { kind: 'lost' };
      lastError = sent.error;
      this.observer.attemptFailed?.(ep.key, change, attempt, sent.error);
      if (attempt < maxAttempts && !(await this.pauseHeld(backoffDelay(attempt, backoffMs, backoffMaxMs, this.random), renew))) {
        return { kind: 'lost' };
      }
    }
    return { kind: 'parked', attempts: maxAttempts, lastError };
  }

  /** Waits `ms` while keeping the lease; false when it was lost or the deliverer stops. */
  private async pauseHeld(ms: number, renew: Renew): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
      const left = until - Date.now();
      if (left <= 0) return !this.stopping;
      await this.pause(Math.min(left, this.options.leaseMs / 3));
      if (this.stopping || !(await renew())) return false;
    }
  }

  /** Sleeps, or less when the deliverer stops. */
  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }
}
