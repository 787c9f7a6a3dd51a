// Where the Redis cache keeps each domain, on one Redis or on a Redis Cluster.
//
// A Lua script may only touch keys of one hash slot on a cluster (CROSSSLOT
// otherwise), and the merge script reads a generation key beside the domain
// keys. So domains are spread over `groups` slot groups, each with its own
// generation key, tied together by a hash tag: `ca:{17}gen` and
// `ca:{17}d:example.com` live in one slot. 64 groups (CLUSTER_SLOT_GROUPS) spread
// the cache evenly over the masters (21/22/21 of them on a three-master cluster
// with the default slot ranges) and let it grow to 64 masters, while a flush's
// merge of 1000 rows stays some 64 script calls and a lookup of 100 domains some
// 50 MGETs (256 groups measured about 4× the calls per merge and made flushes
// under load lag: docs/benchmarks.md). One hash tag for every domain would put
// the whole cache on one master.
//
// With groups = 1 (a single Redis) there is no hash tag: the keys are
// `ca:gen` and `ca:d:<domain>`, as before the cluster support.

export class KeyLayout {
  private readonly genKeys: string[];
  private readonly domainPrefixes: string[];

  constructor(
    prefix: string,
    readonly groups: number,
  ) {
    if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`slot groups must be a positive integer, got ${groups}`);
    const tag = (g: number) => (groups === 1 ? prefix : `${prefix}{${g}}`);
    this.genKeys = Array.from({ length: groups }, (_, g) => `${tag(g)}gen`);
    this.domainPrefixes = Array.from({ length: groups }, (_, g) => `${tag(g)}d:`);
  }

  /** The group of a domain: FNV-1a of its name (ASCII after normalisation), modulo the groups. */
  groupOf(name: string): number {
    if (this.groups === 1) return 0;
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) {
      h ^= name.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return (h >>> 0) % this.groups;
  }

  genKey(group: number): string {
    return this.genKeys[group];
  }

  domainKey(name: string, group = this.groupOf(name)): string {
    return this.domainPrefixes[group] + name;
  }

  /** Indexes of `names` per group, in order (one group with every index when groups = 1). */
  byGroup(count: number, nameAt: (i: number) => string): Map<number, number[]> {
    if (this.groups === 1) return new Map([[0, Array.from({ length: count }, (_, i) => i)]]);
    const out = new Map<number, number[]>();
    for (let i = 0; i < count; i++) {
      const g = this.groupOf(nameAt(i));
      const list = out.get(g);
      if (list) list.push(i);
      else out.set(g, [i]);
    }
    return out;
  }
}
