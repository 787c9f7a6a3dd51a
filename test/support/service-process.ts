// The compiled service (node dist/app/main.js) as a child process on a free
// loopback port, for tests that need several real processes (behind nginx).
// Builds dist/ first if it is missing (`make test` builds it anyway).
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port';
import { request } from './http';
import { ensureBuilt } from './service-child';

export { ensureBuilt };

const root = path.resolve(__dirname, '../..');
const main = path.join(root, 'dist/app/main.js');

export class ServiceProcess {
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-20_000)));
    child.stderr?.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-20_000)));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** host:port, for an nginx upstream. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The last 20 kB it printed. */
  get log(): string {
    return this.output;
  }

  /** Starts one and waits until /health/ready answers 200. */
  static async start(env: Record<string, string>): Promise<ServiceProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, [main], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.once('error', () => undefined);
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    const service = new ServiceProcess(child, port);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`service exited at start (${child.exitCode}):\n${service.output}`);
      const ready = await request(service.url, 'GET', '/health/ready').catch(() => undefined);
      if (ready?.status === 200) return service;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`service did not become ready:\n${service.output}`);
      }
      await sleep(100);
    }
  }

  /** SIGTERM (flushes, then exits); resolves with the exit code. */
  async stop(): Promise<number | null> {
    return this.signal('SIGTERM');
  }

  /** SIGKILL: a crash, nothing flushed. */
  async kill(): Promise<number | null> {
    return this.signal('SIGKILL');
  }

  private async signal(signal: NodeJS.Signals): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    return new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.kill(signal);
    });
  }
}
