// The change sequencer: gives the transitions that flushes wrote to
// status_changes_outbox their positions in the feed (status_changes.id).
//
// Why a second step: a position handed out inside the flush needs one lock that
// every flush with a transition shares and holds until it commits, so ids
// become visible in order. On Citus that lock is held through a two-phase
// commit, and flushes queued behind it (a three-node run slowed from 226 s to
// more than 7 minutes). Here flushes take no shared lock at all; sequencing is
// one short transaction at a time, across all nodes, under change_feed_head's
// row lock:
//   lock the head → delete a batch of the outbox (the oldest first) → insert
//   it into status_changes with the next ids → move the head → NOTIFY → commit.
// The delete runs after the lock is granted, with a fresh snapshot, so it sees
// every outbox row committed before; a row that another sequencer is moving is
// locked by it and skipped once that one commits. A crash before commit leaves
// the rows in the outbox for the next run, so each transition gets exactly one
// id. Within a batch, changes are ordered by the time the flush took them
// (clock_timestamp() under the domain's row lock), so a domain's changes keep
// their commit order, and batches follow each other in commit order.
//
// Runs: right after this node's flush commits a transition (kick), and every
// few seconds on every node (a node that died between its commit and its kick
// leaves rows another node moves). On a connection of its own, opened on first
// need and replaced after an error: the pool stays free for flushes.
import { Client } from 'pg';

export const CHANGES_CHANNEL = 'catchall_changes';

/** Rows moved per transaction (bounds the memory one run needs). */
const BATCH = 5_000;

const LOCK_HEAD_SQL = 'SELECT last_id FROM change_feed_head WHERE k = 1 FOR UPDATE';

const TAKE_SQL = `DELETE FROM status_changes_outbox
WHERE (domain, delivered, bounced) IN (
  SELECT domain, delivered, bounced FROM status_changes_outbox ORDER BY at, domain, delivered, bounced LIMIT $1
)
RETURNING domain, delivered, bounced, from_status, to_status, at`;

const INSERT_SQL = `INSERT INTO status_changes (id, domain, delivered, bounced, from_status, to_status, at)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::timestamptz[])`;

const MOVE_HEAD_SQL = 'UPDATE change_feed_head SET last_id = $1 WHERE k = 1';

/** An outbox row as pg answers it (bigints as text). */
interface OutboxRow {
  domain: string;
  delivered: string;
  bounced: string;
  from_status: string;
  to_status: string;
  at: Date;
}

interface Waiter {
  generation: number;
  resolve(): void;
  reject(err: unknown): void;
}

export class ChangeSequencer {
  /** Kicks asked for, and the newest one a finished run covered. */
  private requested = 0;
  private covered = 0;
  /** The newest kick that was not a sweep: what settled() waits for. */
  private announced = 0;
  private running = false;
  private closed = false;
  private waiters: Waiter[] = [];
  private readonly sweep: NodeJS.Timeout;
  private client?: Client;

  /**
   * @param url where to open the sequencer's connection
   * @param onSequenced after a commit that moved changes: the last id now in the feed
   * @param sweepMs how often this node also looks for rows no kick announced
   */
  constructor(
    private readonly url: string,
    private readonly onSequenced: (lastId: number) => void,
    sweepMs = 2_000,
  ) {
    this.sweep = setInterval(() => void this.run(false).catch(() => undefined), sweepMs);
    this.sweep.unref();
  }

  /** Sequences everything committed before this call; resolves when a run that started after it ends. */
  kick(): Promise<void> {
    return this.run(true);
  }

  /**
   * Resolves when the kicks asked for so far are covered (nothing is started
   * for it). Sweeps are not waited for: a read must not queue behind this
   * node's periodic look for other nodes' rows.
   */
  settled(): Promise<void> {
    if (this.covered >= this.announced) return Promise.resolve();
    const generation = this.announced;
    return new Promise<void>((resolve) => this.waiters.push({ generation, resolve, reject: () => resolve() }));
  }

  private run(announced: boolean): Promise<void> {
    if (this.closed) return Promise.resolve();
    const generation = ++this.requested;
    if (announced) this.announced = generation;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ generation, resolve, reject }));
    if (!this.running) void this.drive();
    return done;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweep);
    this.settle(Number.MAX_SAFE_INTEGER, new Error('the change sequencer is closed'));
    // A run in progress ends with an error on the closed connection.
    await this.dropClient();
  }

  private async connection(): Promise<Client> {
    if (this.client) return this.client;
    const client = new Client({ connectionString: this.url, application_name: 'catchall-sequencer' });
    // An idle connection dropped by the server: forget it; the next run opens another.
    client.on('error', () => void this.dropClient(client));
    await client.connect();
    if (this.closed) {
      await client.end().catch(() => undefined);
      throw new Error('the change sequencer is closed');
    }
    this.client = client;
    return client;
  }

  private async dropClient(client = this.client): Promise<void> {
    if (!client) return;
    if (this.client === client) this.client = undefined;
    await client.end().catch(() => undefined);
  }

  private async drive(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.covered < this.requested) {
        const generation = this.requested;
        try {
          while ((await this.runOnce()) === BATCH) {
            // A full batch: there may be more.
          }
          this.covered = generation;
          this.settle(generation);
        } catch (err) {
          this.covered = generation;
          this.settle(generation, err);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** One transaction; returns how many changes it moved. */
  private async runOnce(): Promise<number> {
    const client = await this.connection();
    let lastId: number | undefined;
    let moved: number;
    try {
      await client.query('BEGIN');
      const head = await client.query<{ last_id: string }>(LOCK_HEAD_SQL);
      const taken = await client.query<OutboxRow>(TAKE_SQL, [BATCH]);
      moved = taken.rows.length;
      if (moved > 0) {
        lastId = await this.append(client, Number(head.rows[0].last_id), taken.rows);
        await client.query(MOVE_HEAD_SQL, [lastId]);
        await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, String(lastId)]);
      }
      await client.query('COMMIT');
    } catch (err) {
      // The connection may be broken (or mid-transaction): replace it.
      await this.dropClient(client);
      throw err;
    }
    if (lastId !== undefined) this.onSequenced(lastId);
    return moved;
  }

  private async append(client: Client, lastId: number, rows: OutboxRow[]): Promise<number> {
    const ordered = orderForFeed(rows);
    await client.query(INSERT_SQL, [
      ordered.map((_, i) => lastId + 1 + i),
      ordered.map((r) => r.domain),
      ordered.map((r) => r.delivered),
      ordered.map((r) => r.bounced),
      ordered.map((r) => r.from_status),
      ordered.map((r) => r.to_status),
      ordered.map((r) => r.at.toISOString()),
    ]);
    return lastId + ordered.length;
  }

  private settle(generation: number, err?: unknown): void {
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.generation > generation) still.push(w);
      else if (err === undefined) w.resolve();
      else w.reject(err);
    }
    this.waiters = still;
  }
}

/**
 * Feed order of one batch: by the time each transition was taken, then by
 * domain and totals (a domain's totals only grow, so its own changes stay in
 * order even if two carry the same time).
 */
export function orderForFeed<R extends { domain: string; delivered: string; bounced: string; at: Date }>(rows: R[]): R[] {
  const total = (r: R) => Number(r.delivered) + Number(r.bounced);
  return [...rows].sort(
    (a, b) =>
      a.at.getTime() - b.at.getTime() ||
      (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0) ||
      total(a) - total(b),
  );
}
