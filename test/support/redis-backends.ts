// The cache suites run against one Redis and against a three-master Redis
// Cluster: this gives them one face for both (how the service reaches it, an
// admin client, where a domain's key is, and how to take it down and back).
import Redis, { Cluster } from 'ioredis';
import { CLUSTER_SLOT_GROUPS } from '../../business/adapters/redis-cache/redis-status-cache.adapter';
import { KeyLayout } from '../../business/adapters/redis-cache/key-layout';
import { TestRedis } from './redis';
import { TestRedisCluster } from './redis-cluster';

export type RedisKind = 'single' | 'cluster';
export const REDIS_KINDS: readonly RedisKind[] = ['single', 'cluster'];

export interface RedisBackend {
  readonly kind: RedisKind;
  /** For RedisStatusCache's options. */
  readonly target: { url: string } | { clusterNodes: string[] };
  /** For the service's environment (REDIS_URL or REDIS_CLUSTER_NODES). */
  readonly env: Record<string, string>;
  readonly running: boolean;
  /** A client for the test's own reads and writes (cluster-aware on a cluster). */
  admin(): Redis | Cluster;
  /** The key of a domain's entry and of its generation, with the service's default prefix. */
  keyOf(domain: string): string;
  genKeyOf(domain: string): string;
  flushAll(): Promise<void>;
  /** Every server stops answering clients for `ms` (CLIENT PAUSE … ALL): a stall. */
  pauseAll(ms: number): Promise<void>;
  /** A crash of the server, or on a cluster of one master (its slots down); then back, empty. */
  killOne(): Promise<void>;
  restartOne(): Promise<void>;
  /** Everything down (like a crash), then back, empty. */
  killAll(): Promise<void>;
  restartAll(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(kind: RedisKind): Promise<RedisBackend> {
  return kind === 'single' ? singleBackend(await TestRedis.start()) : clusterBackend(await TestRedisCluster.start());
}

/** On a cluster, the backend also gives access to the cluster (to kill one master). */
export function clusterOf(backend: RedisBackend): TestRedisCluster | undefined {
  return (backend as { cluster?: TestRedisCluster }).cluster;
}

function singleBackend(server: TestRedis): RedisBackend {
  const layout = new KeyLayout('ca:', 1);
  let admin: Redis | undefined;
  return {
    kind: 'single',
    target: { url: server.url },
    env: { REDIS_URL: server.url },
    get running() {
      return server.running;
    },
    admin: () => (admin ??= new Redis(server.url, { maxRetriesPerRequest: 1 })),
    keyOf: (domain) => layout.domainKey(domain),
    genKeyOf: (domain) => layout.genKey(layout.groupOf(domain)),
    flushAll: async () => {
      await (admin ??= new Redis(server.url, { maxRetriesPerRequest: 1 })).flushall();
    },
    pauseAll: async (ms) => {
      await (admin ??= new Redis(server.url, { maxRetriesPerRequest: 1 })).call('CLIENT', 'PAUSE', String(ms), 'ALL');
    },
    killOne: () => server.kill(),
    restartOne: () => server.restart(),
    killAll: () => server.kill(),
    restartAll: () => server.restart(),
    stop: async () => {
      admin?.disconnect();
      await server.stop();
    },
  };
}

function clusterBackend(cluster: TestRedisCluster): RedisBackend & { cluster: TestRedisCluster } {
  const layout = new KeyLayout('ca:', CLUSTER_SLOT_GROUPS);
  let admin: Cluster | undefined;
  return {
    kind: 'cluster',
    cluster,
    target: { clusterNodes: cluster.nodes },
    env: { REDIS_CLUSTER_NODES: cluster.nodes.join(',') },
    get running() {
      return cluster.running;
    },
    admin: () => {
      if (!admin) {
        admin = new Cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })));
        // Masters are killed on purpose: no "unhandled error event" noise.
        admin.on('error', () => undefined);
      }
      return admin;
    },
    keyOf: (domain) => layout.domainKey(domain),
    genKeyOf: (domain) => layout.genKey(layout.groupOf(domain)),
    flushAll: () => cluster.flushAll(),
    pauseAll: (ms) => cluster.pauseAll(ms),
    killOne: () => cluster.kill(0),
    restartOne: () => cluster.restart(0),
    killAll: () => cluster.killAll(),
    restartAll: () => cluster.restartAll(),
    stop: async () => {
      admin?.disconnect();
      await cluster.destroy();
    },
  };
}
