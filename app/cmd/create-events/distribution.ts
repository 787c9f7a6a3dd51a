// The event distribution of the assessment's reference generator, made
// deterministic by a seed: each domain is a burst of rand(0..2499) events, about
// 35% of the way apart a bounce, and every 25th domain never bounces, so a run
// yields a known mix of catch-all, not catch-all and unknown domains.
import { Rng, deriveSeed, mulberry32 } from './prng';

const TLDS = ['.net', '.com', '.org', '.io', '.gov'] as const;
const NAME_LETTERS = 14;
/** A burst is rand(0..MAX_BURST-1) events. */
const MAX_BURST = 2500;
const BOUNCE_FRACTION = 0.35;
/** The 25th, 50th, 75th … domain (1-based) gets no bounces. */
const NO_BOUNCE_EVERY = 25;
/** How many domains are mid-burst at once when interleaving. */
export const INTERLEAVE_WIDTH = 64;

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

// Separate streams: the domains a seed produces do not depend on the order.
const DOMAIN_STREAM = 0;
const ORDER_STREAM = 1;

export type Order = 'interleave' | 'burst';

export interface DomainPlan {
  /** 0-based position in the run. */
  index: number;
  /** Mixed case as generated; the service stores it lower-cased. */
  name: string;
  /** The burst size the reference drew. */
  max: number;
  /** Event i is a bounce when bounceEvery ≠ 0 and i % bounceEvery = 0. */
  bounceEvery: number;
  /** Events this run sends for the domain: max, less for the last one when --events cuts the burst short. */
  count: number;
}

export interface PlanLimits {
  /** Stop once this many events are planned (the last burst is cut short). */
  events?: number;
  /** Stop after this many domains. */
  domains?: number;
}

export interface PlannedEvent {
  plan: DomainPlan;
  bounced: boolean;
}

function isBounce(plan: DomainPlan, i: number): boolean {
  return plan.bounceEvery !== 0 && i % plan.bounceEvery === 0;
}

/** Delivered and bounced counts of a plan's events, without walking them. */
export function plannedCounts(plan: DomainPlan): { delivered: number; bounced: number } {
  const bounced = plan.bounceEvery === 0 || plan.count === 0 ? 0 : Math.floor((plan.count - 1) / plan.bounceEvery) + 1;
  return { delivered: plan.count - bounced, bounced };
}

function domainName(rng: Rng): string {
  let name = '';
  for (let i = 0; i < NAME_LETTERS; i++) name += LETTERS[rng.int(LETTERS.length)];
  return name + TLDS[rng.int(TLDS.length)];
}

/** The random stream that names the domains and sizes their bursts. */
export function domainRng(seed: number): Rng {
  return mulberry32(deriveSeed(seed, DOMAIN_STREAM));
}

/** The domains of a run, in order; endless when no limit is given (a --duration run). */
export function* planDomains(seed: number, limits: PlanLimits = {}): Generator<DomainPlan> {
  const rng = domainRng(seed);
  let events = 0;
  for (let index = 0; limits.domains === undefined || index < limits.domains; index++) {
    if (limits.events !== undefined && events >= limits.events) return;
    const name = domainName(rng);
    const max = rng.int(MAX_BURST);
    const bounceEvery = (index + 1) % NO_BOUNCE_EVERY === 0 ? 0 : Math.floor(BOUNCE_FRACTION * max);
    const count = limits.events === undefined ? max : Math.min(max, limits.events - events);
    events += count;
    yield { index, name, max, bounceEvery, count };
  }
}

/** Each domain's burst together, as the reference sends them. */
function* burstOrder(plans: Iterable<DomainPlan>): Generator<PlannedEvent> {
  for (const plan of plans) {
    for (let i = 0; i < plan.count; i++) yield { plan, bounced: isBounce(plan, i) };
  }
}

/**
 * Many domains mid-burst at once, the next event from a random one of them, as
 * a mail platform would produce them. Each domain's own events keep their
 * order, so the counts are exactly those of the burst order.
 */
function* interleavedOrder(plans: Iterable<DomainPlan>, rng: Rng): Generator<PlannedEvent> {
  const source = plans[Symbol.iterator]();
  const active: { plan: DomainPlan; next: number }[] = [];
  const refill = (): boolean => {
    for (let r = source.next(); !r.done; r = source.next()) {
      if (r.value.count > 0) {
        active.push({ plan: r.value, next: 0 });
        return true;
      }
    }
    return false;
  };
  while (active.length < INTERLEAVE_WIDTH && refill());
  while (active.length > 0) {
    const slot = rng.int(active.length);
    const cursor = active[slot];
    yield { plan: cursor.plan, bounced: isBounce(cursor.plan, cursor.next) };
    if (++cursor.next === cursor.plan.count) {
      active[slot] = active[active.length - 1];
      active.pop();
      refill();
    }
  }
}

export function eventStream(plans: Iterable<DomainPlan>, order: Order, seed: number): Generator<PlannedEvent> {
  return order === 'burst' ? burstOrder(plans) : interleavedOrder(plans, mulberry32(deriveSeed(seed, ORDER_STREAM)));
}
