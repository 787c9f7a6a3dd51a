// One run from start to end: check the service answers, plan the domains, look
// them up before (to know where their counts start), send, look them up after
// and compare, and build the report. The CLI and the integration test call this.
import { DomainPlan, planDomains } from './distribution';
import { HttpClient, createHttpClient, errorCode } from './http';
import { Options } from './options';
import { startProgress } from './progress';
import { Report, buildReport } from './report';
import { DomainTally, newStats, sendEvents } from './runner';
import { Baseline, Verification, lookupAll, notFresh, verifyRun, zeroBaseline } from './verify';

/** A problem that ends the run before it starts, told in one line. */
export class FatalError extends Error {}

const PROBE_TIMEOUT_MS = 5000;
// An endless (--duration) run cannot look all its domains up beforehand. A
// seed's domains come in a fixed order, so a reused seed shows in the first
// ones already; fresh random names (14 letters) practically never collide.
const ENDLESS_FRESHNESS_SAMPLE = 1000;

export interface RunIo {
  /** Aborting stops sending; requests in flight finish, and the run is verified and reported. */
  signal?: AbortSignal;
}

export async function run(options: Options, io: RunIo = {}): Promise<Report> {
  await probe(options.url);
  const client = createHttpClient(options.url, options.concurrency, options.timeoutMs, options.apiKey);
  try {
    const limits = { events: options.events, domains: options.domains };
    const endless = limits.events === undefined && limits.domains === undefined;
    const planned = endless ? undefined : [...planDomains(options.seed, limits)];
    const before = await startingCounts(client, options, planned ?? take(planDomains(options.seed), ENDLESS_FRESHNESS_SAMPLE));

    const stats = newStats();
    const progress = options.progress ? startProgress(stats, { ...limits, durationMs: options.durationMs }) : undefined;
    try {
      await sendEvents(options, client, planned ?? planDomains(options.seed, limits), stats, io.signal);
    } finally {
      progress?.stop();
    }

    let verification: Verification;
    if (options.verify === 'off') verification = notRun('off');
    else if (before.skip) verification = notRun('skipped', before.skip);
    else verification = await verifyAfter(client, stats.domains, before.baseline, options.threshold);
    return buildReport(options, stats, before.baseline, verification);
  } finally {
    client.close();
  }
}

/** Any HTTP answer, even a 404, shows something is listening; only a network failure is "not reachable". */
async function probe(url: string): Promise<void> {
  const client = createHttpClient(url, 1, PROBE_TIMEOUT_MS);
  try {
    await client.request('GET', '/health/live');
  } catch (error) {
    throw new FatalError(
      `the catchall service is not reachable at ${url} (${errorCode(error)}): start it with \`make start\` in another terminal, or point --url at it`,
    );
  } finally {
    client.close();
  }
}

interface Before {
  baseline: Baseline;
  /** Set when verification should not run, with the reason. */
  skip?: string;
}

async function startingCounts(client: HttpClient, options: Options, plans: DomainPlan[]): Promise<Before> {
  if (options.verify === 'off' && !options.fresh) return { baseline: zeroBaseline };
  const keys = plans.map((p) => p.name.toLowerCase());
  let views;
  try {
    views = await lookupAll(client, keys);
  } catch (error) {
    const why = `could not look the generated domains up before sending (${(error as Error).message})`;
    if (options.verify === 'auto' && !options.fresh) return { baseline: zeroBaseline, skip: why };
    throw new FatalError(why);
  }
  const taken = notFresh(views);
  if (taken.length === 0) return { baseline: zeroBaseline };
  const what = `${taken.length} of the ${keys.length} generated domains already had counts (e.g. ${taken[0].domain}: ${taken[0].delivered} delivered, ${taken[0].bounced} bounced)`;
  if (options.fresh) {
    throw new FatalError(`--fresh: ${what}; was --seed ${options.seed} used before against this service? Pick another seed or start from an empty store`);
  }
  // Domains not looked up (beyond an endless run's sample) have unknown starting counts.
  const baseline: Baseline = (key) => views.get(key);
  return options.verify === 'on'
    ? { baseline }
    : { baseline, skip: `${what} before the run (same --seed as an earlier run?); --verify checks the increase instead` };
}

async function verifyAfter(client: HttpClient, tallies: DomainTally[], baseline: Baseline, threshold: number): Promise<Verification> {
  try {
    return await verifyRun(client, tallies, baseline, threshold);
  } catch (error) {
    const note = `could not look the domains up after the run (${(error as Error).message})`;
    return { ...notRun('inconclusive', note), domains: tallies.length };
  }
}

function notRun(outcome: Verification['outcome'], note?: string): Verification {
  return { outcome, note, domains: 0, matched: 0, inconclusive: 0, mismatches: [] };
}

function take<T>(items: Iterable<T>, n: number): T[] {
  const out: T[] = [];
  for (const item of items) {
    if (out.length >= n) break;
    out.push(item);
  }
  return out;
}
