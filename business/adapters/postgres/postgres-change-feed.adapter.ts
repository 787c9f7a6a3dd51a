// The PostgreSQL change feed: reads status_changes (filled by the sequencer,
// change-sequencer.ts, from the transitions flushes write to the outbox,
// recorded-flush.ts) and lets long-polls wait for the next change.
//
// Waking: this node's sequencer advances the signal right after its commit;
// other nodes' commits arrive as NOTIFY on a dedicated connection that LISTENs
// (it is not from the pool, which must stay free for flushes). Before a wait
// the feed reads change_feed_head (the last committed id), after LISTEN is set
// up, so a change committed just before the wait is not missed. A read first
// waits for this node's pending sequencing, so a change whose flush returned
// on this node is readable at once. While the LISTEN connection is
// down it is reconnected with backoff, and waits re-read the head once a second.
import { Client, Pool } from 'pg';
import { Change, ChangeFeed, ChangeFeedState } from '../../ports';
import { DomainStatus } from '../../models';
import { MonotoneSignal } from '../../../foundation/sync/monotone-signal';
import { CHANGES_CHANNEL, ChangeSequencer } from './change-sequencer';

const READ_SQL = `SELECT id, domain, from_status, to_status, delivered, bounced, at
FROM status_changes WHERE id > $1::bigint ORDER BY id LIMIT $2`;
const HEAD_SQL = 'SELECT last_id FROM change_feed_head';
const PRUNE_SQL = `DELETE FROM status_changes WHERE id IN (
  SELECT id FROM status_changes WHERE at < $1 ORDER BY id LIMIT $2
)`;

const RECONNECT_MS = { first: 100, max: 5_000 };
const POLL_WHILE_DEAF_MS = 1_000;

type ChangeRow = [string, string, string, string, string, string, Date];

export class PostgresChangeFeed extends ChangeFeed {
  readonly kind = 'postgres';
  private readonly signal = new MonotoneSignal(0);
  private listener?: Client;
  private listening = false;
  private closed = false;
  private reconnectDelay = RECONNECT_MS.first;
  private reconnectTimer?: NodeJS.Timeout;
  private readonly sequencer: ChangeSequencer;

  /**
   * @param pool the pool to read with (the counter store's)
   * @param url where to open the LISTEN and the sequencer connections
   */
  static async open(pool: Pool, url: string, options: { sweepMs?: number } = {}): Promise<PostgresChangeFeed> {
    const feed = new PostgresChangeFeed(pool, url, options.sweepMs);
    try {
      await feed.listen();
    } catch (err) {
      await feed.close();
      throw err;
    }
    return feed;
  }

  private constructor(
    private readonly pool: Pool,
    private readonly url: string,
    sweepMs?: number,
  ) {
    super();
    this.sequencer = new ChangeSequencer(url, (lastId) => this.signal.advance(lastId), sweepMs);
  }

  /**
   * A flush of this node committed transitions to the outbox (called by the
   * counter store): resolves once they are sequenced, or once sequencing
   * failed (the sweep retries); never rejects.
   */
  recorded(): Promise<void> {
    return this.sequencer.kick().catch(() => undefined);
  }

  /** Sequences every transition committed so far (for tests and shutdown). */
  sequence(): Promise<void> {
    return this.sequencer.kick();
  }

  async read(after: number, limit: number): Promise<Change[]> {
    await this.sequencer.settled();
    const result = await this.pool.query<ChangeRow>({
      text: READ_SQL,
      values: [String(after), limit],
      rowMode: 'array',
    });
    return result.rows.map(toChange);
  }

  async wait(after: number, deadline: number, signal?: AbortSignal): Promise<boolean> {
    if (this.signal.value > after) return true;
    await this.refresh();
    while (!this.closed) {
      const until = this.listening ? deadline : Math.min(deadline, Date.now() + POLL_WHILE_DEAF_MS);
      if (await this.signal.wait(after, until, signal)) return true;
      if (signal?.aborted || Date.now() >= deadline) return false;
      await this.refresh();
    }
    return false;
  }

  async prune(before: Date, batch: number): Promise<number> {
    await this.sequencer.settled();
    const result = await this.pool.query(PRUNE_SQL, [before, batch]);
    return result.rowCount ?? 0;
  }

  /** Long-polls waiting now. */
  get waiting(): number {
    return this.signal.waiting;
  }

  state(): ChangeFeedState {
    return { durable: true, detail: { kind: 'postgres', listening: this.listening, waiting: this.signal.waiting } };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sequencer.close();
    clearTimeout(this.reconnectTimer);
    this.signal.releaseAll();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  /** Reads the last committed id; an error leaves the signal as it was (the wait goes on). */
  private async refresh(): Promise<void> {
    try {
      const result = await this.pool.query<[string]>({ text: HEAD_SQL, rowMode: 'array' });
      const last = result.rows[0]?.[0];
      if (last !== undefined) this.signal.advance(Number(last));
    } catch {
      // The store is unreachable; readiness reports that. The wait ends at its deadline.
    }
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.url, application_name: 'catchall-changes' });
    client.on('notification', (msg) => {
      if (msg.channel === CHANGES_CHANNEL && msg.payload) this.signal.advance(Number(msg.payload));
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (err) {
      this.lost(client);
      throw err;
    }
    this.listening = true;
    this.reconnectDelay = RECONNECT_MS.first;
    await this.refresh();
  }

  /** The LISTEN connection failed or ended: drop it and try again later (once per connection). */
  private lost(client: Client): void {
    if (this.listener !== client) return;
    this.listening = false;
    this.listener = undefined;
    client.end().catch(() => undefined);
    if (this.closed) return;
    // A failed attempt calls lost() again from listen(), which schedules the next one.
    this.reconnectTimer = setTimeout(() => void this.listen().catch(() => undefined), this.reconnectDelay);
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MS.max);
  }
}

function toChange(r: ChangeRow): Change {
  return {
    id: Number(r[0]),
    domain: r[1],
    from: r[2] as DomainStatus,
    to: r[3] as DomainStatus,
    delivered: Number(r[4]),
    bounced: Number(r[5]),
    at: r[6],
  };
}
