// The pending map of the write path (DESIGN §4): domain → deltas not yet handed
// to a flush. The hot path adds to it in place; a flush takes it whole, splits
// it into store calls of at most FLUSH_MAX_DOMAINS domains, and merges back
// what a failed flush did not store.
//
// A domain may be held (see ReadFence): while it is, its new deltas gather in
// a side map that no flush takes, and go into the pending map when the hold
// ends. Deltas merged back after a failed flush always go into the pending map,
// since the waiters of that flush follow the next one.
import { Counts, EventType } from '../models';

/** Mutable counts: the pending map is the hot path, so entries are updated in place. */
interface MutableCounts {
  delivered: number;
  bounced: number;
}

/** Deltas taken out of the pending map by one flush. */
export type DeltaBatch = Map<string, MutableCounts>;

export class PendingDeltas {
  private map: DeltaBatch = new Map();
  private mapEvents = 0;
  private readonly held: DeltaBatch = new Map();
  private heldEvents = 0;
  private readonly heldNames = new Set<string>();

  /** Distinct domains a flush would take now. */
  get size(): number {
    return this.map.size;
  }

  /** Distinct domains waiting, held ones included. */
  get domains(): number {
    return this.map.size + this.held.size;
  }

  /** Events waiting, held ones included. */
  get events(): number {
    return this.mapEvents + this.heldEvents;
  }

  /** Nothing waiting, held or not. */
  get empty(): boolean {
    return this.map.size === 0 && this.held.size === 0;
  }

  /** Domains held now. */
  get holds(): number {
    return this.heldNames.size;
  }

  isHeld(domain: string): boolean {
    return this.heldNames.size > 0 && this.heldNames.has(domain);
  }

  add(domain: string, type: EventType, n: number): void {
    if (this.isHeld(domain)) {
      addTo(this.held, domain, type, n);
      this.heldEvents += n;
    } else {
      addTo(this.map, domain, type, n);
      this.mapEvents += n;
    }
  }

  /** Takes the pending map (not the held deltas) for a flush. */
  take(): { batch: DeltaBatch; events: number } {
    const taken = { batch: this.map, events: this.mapEvents };
    this.map = new Map();
    this.mapEvents = 0;
    return taken;
  }

  /** Puts back deltas a flush failed to store: into the pending map, held or not. */
  mergeBack(chunk: ReadonlyMap<string, Counts>): void {
    for (const [name, c] of chunk) {
      if (c.delivered > 0) addTo(this.map, name, 'delivered', c.delivered);
      if (c.bounced > 0) addTo(this.map, name, 'bounced', c.bounced);
      this.mapEvents += c.delivered + c.bounced;
    }
  }

  /** Whether any of the names has deltas a flush would take now. */
  hasAny(names: readonly string[]): boolean {
    if (this.map.size === 0) return false;
    for (const name of names) if (this.map.has(name)) return true;
    return false;
  }

  /** From now on new deltas of `name` wait in the side map. */
  hold(name: string): void {
    this.heldNames.add(name);
  }

  /** Ends a hold: the held deltas of `name` join the pending map. */
  release(name: string): void {
    this.heldNames.delete(name);
    const c = this.held.get(name);
    if (c === undefined) return;
    this.held.delete(name);
    this.heldEvents -= c.delivered + c.bounced;
    if (c.delivered > 0) addTo(this.map, name, 'delivered', c.delivered);
    if (c.bounced > 0) addTo(this.map, name, 'bounced', c.bounced);
    this.mapEvents += c.delivered + c.bounced;
  }

  /** Copies of the waiting counts (pending and held) of the names asked for that have any. */
  countsOf(names: readonly string[]): Map<string, Counts> {
    const out = new Map<string, Counts>();
    if (this.empty) return out;
    for (const name of names) {
      const a = this.map.get(name);
      const b = this.held.size > 0 ? this.held.get(name) : undefined;
      if (a === undefined && b === undefined) continue;
      out.set(name, {
        delivered: (a?.delivered ?? 0) + (b?.delivered ?? 0),
        bounced: (a?.bounced ?? 0) + (b?.bounced ?? 0),
      });
    }
    return out;
  }
}

function addTo(map: DeltaBatch, domain: string, type: EventType, n: number): void {
  let c = map.get(domain);
  if (c === undefined) {
    c = { delivered: 0, bounced: 0 };
    map.set(domain, c);
  }
  if (type === 'delivered') c.delivered += n;
  else c.bounced += n;
}

/** Splits a batch into maps of at most `max` domains (the batch itself when it fits). */
export function splitChunks(batch: DeltaBatch, max: number): DeltaBatch[] {
  if (batch.size <= max) return [batch];
  const chunks: DeltaBatch[] = [];
  let current: DeltaBatch = new Map();
  for (const [k, v] of batch) {
    current.set(k, v);
    if (current.size >= max) {
      chunks.push(current);
      current = new Map();
    }
  }
  if (current.size > 0) chunks.push(current);
  return chunks;
}

export function countEvents(chunk: ReadonlyMap<string, Counts>): number {
  let n = 0;
  for (const c of chunk.values()) n += c.delivered + c.bounced;
  return n;
}
