// Load for the fault suite: workers that PUT events round-robin over a set of
// domains and tally, per domain, what was sent, acknowledged (2xx), refused
// (503) or left without an answer; then the checks every fault test makes
// against what PostgreSQL stored, and the one-line figures it prints.
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from '../../support/http';

export class Tally {
  readonly sent = new Map<string, number>();
  readonly acked = new Map<string, number>();
  readonly refused = new Map<string, number>();
  /** Requests that got no answer (connection refused or reset). */
  readonly unanswered = new Map<string, number>();
  /** Answers other than 204 and 503, and 503s without Retry-After. */
  readonly unexpected: string[] = [];
  /** Times (ms since epoch) at which each 2xx arrived. */
  readonly ackTimes: number[] = [];

  bump(which: Map<string, number>, domain: string): void {
    which.set(domain, (which.get(domain) ?? 0) + 1);
  }
}

export interface Load {
  tally: Tally;
  stop(): Promise<void>;
}

export interface LoadOptions {
  url: string;
  domains: string[];
  workers: number;
  /** Pause after a 503 or a failed request (a polite client backs off). */
  backoffMs?: number;
}

export function startLoad(opts: LoadOptions): Load {
  const tally = new Tally();
  let running = true;
  let n = 0;
  const worker = async () => {
    while (running) {
      const d = opts.domains[n++ % opts.domains.length];
      tally.bump(tally.sent, d);
      try {
        const res = await request(opts.url, 'PUT', `/events/${d}/delivered`);
        if (res.status === 204) {
          tally.bump(tally.acked, d);
          tally.ackTimes.push(Date.now());
        } else if (res.status === 503) {
          tally.bump(tally.refused, d);
          if (!/^\d+$/.test(String(res.headers['retry-after']))) tally.unexpected.push(`503 without Retry-After: ${res.text}`);
          await sleep(opts.backoffMs ?? 20);
        } else {
          tally.unexpected.push(`${res.status} ${res.text}`);
        }
      } catch {
        tally.bump(tally.unanswered, d);
        await sleep(opts.backoffMs ?? 20);
      }
    }
  };
  const all = Promise.all(Array.from({ length: opts.workers }, worker));
  return {
    tally,
    stop: async () => {
      running = false;
      await all;
    },
  };
}

export type Stored = Map<string, { delivered: number; bounced: number }>;

/**
 * Per domain: acknowledged ≤ stored ≤ sent (nothing acknowledged lost, nothing
 * counted twice), and stored == acknowledged where every event was answered 2xx.
 */
export function violations(tally: Tally, stored: Stored): string[] {
  const out: string[] = [];
  for (const [d, sent] of tally.sent) {
    const acked = tally.acked.get(d) ?? 0;
    const got = stored.get(d)?.delivered ?? 0;
    if (got < acked || got > sent) out.push(`${d}: acked ${acked} <= stored ${got} <= sent ${sent} does not hold`);
    if (acked === sent && got !== acked) out.push(`${d}: all ${acked} acknowledged but ${got} stored`);
  }
  return out;
}

export function total(m: Map<string, number>): number {
  let t = 0;
  for (const v of m.values()) t += v;
  return t;
}

/** The one line each fault test prints: totals, and the per-domain spread of stored − acknowledged. */
export function figures(name: string, tally: Tally, stored: Stored, extra = ''): string {
  let storedTotal = 0;
  let extraMin = Infinity;
  let extraMax = -Infinity;
  for (const d of tally.sent.keys()) {
    const got = stored.get(d)?.delivered ?? 0;
    storedTotal += got;
    const over = got - (tally.acked.get(d) ?? 0);
    extraMin = Math.min(extraMin, over);
    extraMax = Math.max(extraMax, over);
  }
  const line =
    `[fault ${name}] domains ${tally.sent.size}: sent ${total(tally.sent)}, acknowledged ${total(tally.acked)}, ` +
    `refused 503 ${total(tally.refused)}, unanswered ${total(tally.unanswered)}, stored ${storedTotal}; ` +
    `per domain stored-acknowledged in [${extraMin}, ${extraMax}], violations ${violations(tally, stored).length}` +
    (extra ? `; ${extra}` : '');
  console.log(line);
  return line;
}

/** Waits until the load has `n` acknowledgements (so a fault hits a loaded service however slow the machine is). */
export async function untilAcked(tally: Tally, n: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (total(tally.acked) < n) {
    if (Date.now() > deadline) throw new Error(`only ${total(tally.acked)} of ${n} events acknowledged in ${timeoutMs} ms`);
    await sleep(20);
  }
}
