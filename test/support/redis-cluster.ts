// A real Redis Cluster for integration tests: three masters (no replicas) on
// free loopback ports, created with `redis-cli --cluster create`. A master can
// be killed (SIGKILL, like a crash) and started again: it keeps its node id and
// slots (nodes.conf in the temp dir) but no data, as nothing is persisted.
//
// cluster-require-full-coverage is off, so that while a master is down the
// other masters keep serving their slots (the setting we recommend, see
// docs/scale.md, "Redis Cluster"); cluster-node-timeout is short so that a dead
// master is noticed within a couple of seconds.
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port';
import { pingOnce, REDIS_SERVER } from './redis';

const REDIS_CLI = process.env.REDIS_CLI ?? 'redis-cli';
const run = promisify(execFile);

interface ClusterNodeProcess {
  port: number;
  busPort: number;
  child?: ChildProcess;
}

export class TestRedisCluster {
  private constructor(
    private readonly dir: string,
    private readonly members: ClusterNodeProcess[],
  ) {}

  /** Starts `masters` cluster-enabled servers, joins them into one cluster and waits until it is ok. */
  static async start(masters = 3): Promise<TestRedisCluster> {
    const dir = await mkdtemp(path.join(tmpdir(), 'catchall-rcluster-'));
    const members: ClusterNodeProcess[] = [];
    for (let i = 0; i < masters; i++) members.push({ port: await freePort(), busPort: await freePort() });
    const cluster = new TestRedisCluster(dir, members);
    try {
      for (let i = 0; i < masters; i++) await cluster.startNode(i);
      await run(REDIS_CLI, ['--cluster', 'create', ...members.map((m) => `127.0.0.1:${m.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
        timeout: 30_000,
      });
      await cluster.waitUntilOk();
      return cluster;
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
  }

  /** host:port of every node, for REDIS_CLUSTER_NODES. */
  get nodes(): string[] {
    return this.members.map((m) => `127.0.0.1:${m.port}`);
  }

  get ports(): number[] {
    return this.members.map((m) => m.port);
  }

  /** Kills node i (SIGKILL) and waits until the others mark it failed, so that its slots are down. */
  async kill(i: number): Promise<void> {
    await this.stopNode(i, 'SIGKILL');
    const deadline = Date.now() + 15_000;
    for (;;) {
      const others = this.members.filter((_, j) => j !== i);
      const views = await Promise.all(others.map((m) => cli(m.port, 'cluster', 'nodes').catch(() => '')));
      if (views.every((v) => v.split('\n').some((line) => line.includes(`:${this.members[i].port}@`) && line.includes('fail') && !line.includes('fail?'))))
        return;
      if (Date.now() > deadline) throw new Error(`the cluster did not mark node ${i} failed`);
      await sleep(100);
    }
  }

  /** Kills every node (the whole cache down); restartAll() brings the cluster back. */
  async killAll(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.stopNode(i, 'SIGKILL')));
  }

  async restartAll(): Promise<void> {
    await this.killAll();
    for (let i = 0; i < this.members.length; i++) await this.startNode(i);
    await this.waitUntilOk();
  }

  get running(): boolean {
    return this.members.every((m) => m.child !== undefined);
  }

  /** Starts node i again (same id and slots, no data) and waits until the cluster is ok on every node. */
  async restart(i: number): Promise<void> {
    if (this.members[i].child) await this.stopNode(i, 'SIGKILL');
    await this.startNode(i);
    await this.waitUntilOk();
  }

  /** Keys held by each running node, in node order. */
  async dbSizes(): Promise<number[]> {
    return Promise.all(this.members.filter((m) => m.child).map(async (m) => Number((await cli(m.port, 'dbsize')).trim())));
  }

  /** Every node stops answering clients for `ms`. */
  async pauseAll(ms: number): Promise<void> {
    await Promise.all(this.members.map((m) => cli(m.port, 'client', 'pause', String(ms), 'all')));
  }

  /** Empties every master (between tests). */
  async flushAll(): Promise<void> {
    await Promise.all(this.members.map((m) => cli(m.port, 'flushall')));
  }

  async destroy(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) await this.stopNode(i, 'SIGTERM');
    await rm(this.dir, { recursive: true, force: true });
  }

  private async startNode(i: number): Promise<void> {
    const m = this.members[i];
    const child = spawn(
      REDIS_SERVER,
      [
        '--port', String(m.port),
        '--bind', '127.0.0.1',
        '--cluster-enabled', 'yes',
        '--cluster-port', String(m.busPort),
        '--cluster-config-file', path.join(this.dir, `nodes-${m.port}.conf`),
        '--cluster-node-timeout', '1000',
        '--cluster-require-full-coverage', 'no',
        '--dir', this.dir,
        '--save', '',
        '--appendonly', 'no',
        '--loglevel', 'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', () => undefined);
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    m.child = child;
    const deadline = Date.now() + 10_000;
    while (!(await pingOnce(m.port))) {
      if (child.exitCode !== null) throw new Error(`redis-server (cluster) on ${m.port} exited: ${stderr.trim()}`);
      if (Date.now() > deadline) throw new Error(`redis-server (cluster) on ${m.port} did not start: ${stderr.trim()}`);
      await sleep(20);
    }
  }

  private async stopNode(i: number, signal: NodeJS.Signals): Promise<void> {
    const m = this.members[i];
    const child = m.child;
    if (!child) return;
    m.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    }
    while (await pingOnce(m.port)) await sleep(10);
  }

  /** Every running node says cluster_state:ok with all slots assigned and sees every other node. */
  private async waitUntilOk(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const live = this.members.filter((m) => m.child);
      const infos = await Promise.all(live.map((m) => cli(m.port, 'cluster', 'info').catch(() => '')));
      const ok = infos.every(
        (info) => info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384') && info.includes(`cluster_known_nodes:${this.members.length}`),
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`redis cluster not ok in time: ${infos.join(' | ')}`);
      await sleep(100);
    }
  }
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5_000 });
  return stdout;
}
