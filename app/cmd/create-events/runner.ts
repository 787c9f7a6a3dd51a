// The load engine: turns the planned event stream into HTTP requests, closed
// loop (`concurrency` requests always in flight) or open loop (--rate: on a
// fixed schedule, latency measured from the scheduled time so a slow server
// cannot hide its queueing — no coordinated omission), and keeps, per domain,
// what was acknowledged and what may or may not have been counted.
import { build, Histogram } from 'hdr-histogram-js';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counts, zeroCounts } from '../../../business/models';
import { DomainPlan, PlannedEvent, eventStream } from './distribution';
import { HttpAnswer, HttpClient, errorCode } from './http';
import { Options } from './options';

export interface DomainTally {
  plan: DomainPlan;
  /** The name as the service stores it. */
  key: string;
  /** Events the service acknowledged: counted for sure. */
  acked: Counts;
  /** Events of failed attempts that the service may still have counted (5xx, timeouts, cut connections). */
  uncertain: Counts;
}

/** Live counters, read by the progress display while the run goes on. */
export interface RunStats {
  domains: DomainTally[];
  eventsSent: number;
  eventsAcked: number;
  eventsFailed: number;
  requestsSent: number;
  requestsAcked: number;
  requestsFailed: number;
  /** Failed attempts by HTTP status or network error code. */
  errors: Record<string, number>;
  /** Latency of answered requests, in microseconds. */
  latency: Histogram;
  startedAt: number;
  durationMs: number;
  /** Open loop: how far behind schedule the generator itself fell, at worst. */
  maxLagMs: number;
  /** Connections refused one after another: the service went away. */
  refusedInARow: number;
  /** Why the run ended before its limit, if it did. */
  stoppedEarly?: string;
}

interface Job {
  events: PlannedEvent[];
  method: string;
  path: string;
  body?: string;
  contentType?: string;
}

// Past this many requests waiting for a socket, an open-loop run stops issuing
// (memory); lateness still counts in the latency because it is measured from
// the scheduled time.
const MAX_QUEUED_PER_SOCKET = 64;
const OPEN_LOOP_TICK_MS = 1;
// Sending on into a service that has gone away only piles up errors.
const STOP_AFTER_REFUSED = 50;

export function newStats(): RunStats {
  return {
    domains: [],
    eventsSent: 0,
    eventsAcked: 0,
    eventsFailed: 0,
    requestsSent: 0,
    requestsAcked: 0,
    requestsFailed: 0,
    errors: {},
    latency: build({ numberOfSignificantValueDigits: 3 }),
    startedAt: performance.now(),
    durationMs: 0,
    maxLagMs: 0,
    refusedInARow: 0,
  };
}

export async function sendEvents(
  options: Options,
  client: HttpClient,
  plans: Iterable<DomainPlan>,
  stats: RunStats = newStats(),
  signal?: AbortSignal,
): Promise<RunStats> {
  const events = eventStream(tally(plans, stats.domains), options.order, options.seed)[Symbol.iterator]();
  stats.startedAt = performance.now();
  const deadline = options.durationMs === undefined ? Infinity : stats.startedAt + options.durationMs;

  const nextJob = (): Job | undefined => {
    if (performance.now() >= deadline) return undefined;
    if (signal?.aborted) {
      stats.stoppedEarly = 'interrupted (Ctrl-C)';
      return undefined;
    }
    if (stats.refusedInARow >= STOP_AFTER_REFUSED) {
      stats.stoppedEarly = `the service stopped accepting connections (${STOP_AFTER_REFUSED} refused in a row)`;
      return undefined;
    }
    const batch: PlannedEvent[] = [];
    while (batch.length < options.batchSize) {
      const r = events.next();
      if (r.done) break;
      batch.push(r.value);
    }
    return batch.length === 0 ? undefined : toJob(options.mode, batch);
  };
  const send = (job: Job, scheduled: number): Promise<void> => sendJob(job, scheduled, client, options.retry, stats);

  if (options.rate === undefined) await closedLoop(nextJob, send, options.concurrency);
  else await openLoop(nextJob, send, options.rate / options.batchSize, options.concurrency, stats);
  stats.durationMs = performance.now() - stats.startedAt;
  return stats;
}

function* tally(plans: Iterable<DomainPlan>, into: DomainTally[]): Generator<DomainPlan> {
  for (const plan of plans) {
    into.push({ plan, key: plan.name.toLowerCase(), acked: zeroCounts(), uncertain: zeroCounts() });
    yield plan;
  }
}

function toJob(mode: Options['mode'], events: PlannedEvent[]): Job {
  if (mode === 'single') {
    const e = events[0];
    return { events, method: 'PUT', path: `/events/${encodeURIComponent(e.plan.name)}/${typeOf(e)}` };
  }
  // Generated names are letters and one dot: nothing to escape.
  const items = events.map((e) => `{"domain":"${e.plan.name}","type":"${typeOf(e)}"}`);
  return mode === 'batch'
    ? { events, method: 'POST', path: '/events', body: `{"events":[${items.join(',')}]}`, contentType: 'application/json' }
    : { events, method: 'POST', path: '/events', body: items.join('\n') + '\n', contentType: 'application/x-ndjson' };
}

const typeOf = (e: PlannedEvent): string => (e.bounced ? 'bounced' : 'delivered');

async function closedLoop(next: () => Job | undefined, send: (job: Job, at: number) => Promise<void>, concurrency: number) {
  const worker = async (): Promise<void> => {
    for (let job = next(); job; job = next()) await send(job, performance.now());
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function openLoop(
  next: () => Job | undefined,
  send: (job: Job, at: number) => Promise<void>,
  requestsPerSecond: number,
  concurrency: number,
  stats: RunStats,
) {
  const interval = 1000 / requestsPerSecond;
  const start = performance.now();
  const inFlight = new Set<Promise<void>>();
  let issued = 0;
  for (;;) {
    const now = performance.now();
    while (start + issued * interval <= now && inFlight.size < concurrency * MAX_QUEUED_PER_SOCKET) {
      const job = next();
      if (!job) {
        await Promise.all(inFlight);
        return;
      }
      const scheduled = start + issued++ * interval;
      stats.maxLagMs = Math.max(stats.maxLagMs, now - scheduled);
      const p = send(job, scheduled).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await sleep(OPEN_LOOP_TICK_MS);
  }
}

async function sendJob(job: Job, scheduled: number, client: HttpClient, retries: number, stats: RunStats): Promise<void> {
  const n = job.events.length;
  stats.eventsSent += n;
  stats.requestsSent++;
  for (let attempt = 0; ; attempt++) {
    let outcome: string;
    let answer: HttpAnswer | undefined;
    try {
      answer = await client.request(job.method, job.path, job.body, job.contentType);
      outcome = judge(answer, job);
      stats.refusedInARow = 0;
    } catch (error) {
      outcome = errorCode(error);
      if (outcome === 'ECONNREFUSED') stats.refusedInARow++;
    }
    if (outcome === 'ok') {
      stats.latency.recordValue(micros(scheduled));
      stats.eventsAcked += n;
      stats.requestsAcked++;
      for (const e of job.events) countInto(stats.domains[e.plan.index].acked, e);
      return;
    }
    stats.errors[outcome] = (stats.errors[outcome] ?? 0) + 1;
    // A 4xx answer means nothing of the request was counted; anything else may have been.
    const maybeCounted = answer === undefined || answer.status >= 500 || outcome === 'accepted≠sent';
    if (maybeCounted) for (const e of job.events) countInto(stats.domains[e.plan.index].uncertain, e);
    if (attempt >= retries || !maybeCounted) {
      if (answer) stats.latency.recordValue(micros(scheduled));
      stats.eventsFailed += n;
      stats.requestsFailed++;
      return;
    }
    await sleep(retryDelayMs(answer, attempt));
  }
}

/** 'ok' when the service acknowledged every event of the request, else the key to count the failure under. */
function judge(answer: HttpAnswer, job: Job): string {
  if (answer.status < 200 || answer.status > 299) return String(answer.status);
  if (job.body === undefined) return 'ok';
  try {
    return (JSON.parse(answer.body) as { accepted?: unknown }).accepted === job.events.length ? 'ok' : 'accepted≠sent';
  } catch {
    return 'accepted≠sent';
  }
}

function countInto(counts: Counts, e: PlannedEvent): void {
  if (e.bounced) counts.bounced++;
  else counts.delivered++;
}

const micros = (since: number): number => Math.max(1, Math.round((performance.now() - since) * 1000));

/** Retry-After when the service gives one (seconds), else a short exponential backoff. */
function retryDelayMs(answer: HttpAnswer | undefined, attempt: number): number {
  const seconds = Number(answer?.retryAfter);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, 30_000) : Math.min(50 * 2 ** attempt, 5000);
}
