// A real redis-server for integration tests: one per test file, on a free
// loopback port, no persistence. It can be stopped and started again on the same
// port, to test what the service does while Redis is down and after it returns.
import { ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { freePort } from './free-port';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

export class TestRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  /** Starts a redis-server on a free loopback port. */
  static async start(): Promise<TestRedis> {
    const redis = new TestRedis(await freePort());
    await redis.startProcess();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Kills the server (SIGKILL: the way a crash looks) and waits until it is gone. */
  async kill(): Promise<void> {
    await this.stopProcess('SIGKILL');
  }

  /** Starts it again on the same port (empty: nothing is persisted). */
  async restart(): Promise<void> {
    if (this.child) await this.stopProcess('SIGKILL');
    await this.startProcess();
  }

  async stop(): Promise<void> {
    await this.stopProcess('SIGTERM');
  }

  private async startProcess(): Promise<void> {
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) at start: ${stderr.trim()}`))),
    );
    exited.catch(() => undefined);
    child.once('error', () => undefined);
    // If the test process dies before afterAll, do not leave the server behind.
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    this.child = child;
    // Ready when it accepts a connection and answers PING.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await Promise.race([pingOnce(this.port), exited]);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async stopProcess(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
    // The port is free once nothing listens on it any more.
    while (await pingOnce(this.port)) await new Promise((r) => setTimeout(r, 10));
  }
}

export function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    let answer = '';
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      answer += d.toString();
      if (answer.includes('\r\n')) {
        socket.destroy();
        resolve(answer.startsWith('+PONG'));
      }
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
}

