// The compiled service as one child process (node dist/app/main.js), for tests
// that signal or kill it: kill -9, SIGTERM, memory of the process. Builds dist/
// first when it is missing or older than the sources.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port';
import { request } from './http';

const root = path.resolve(__dirname, '..', '..');
const MAIN = path.join(root, 'dist/app/main.js');

export interface ServiceChild {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resident memory of the process in bytes (Linux /proc). */
  rss(): number;
}

/** Compiles the service when dist/ is missing or older than any source file. */
export function ensureBuilt(): void {
  if (existsSync(MAIN) && newestSource() <= statSync(MAIN).mtimeMs) return;
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
}

/** Starts the service with `env` (on top of this process's environment) on a free port and waits until it is live. */
export async function startServiceProcess(env: Record<string, string>): Promise<ServiceChild> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // If the test process dies first, do not leave the service behind.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  void exited.then(() => process.off('exit', reap));
  // Live once /health/live answers (whatever LOG_LEVEL hides from its output).
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the service exited at start: ${out}`);
    const live = await request(url, 'GET', '/health/live').catch(() => undefined);
    if (live?.status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the service did not start: ${out}`);
    }
    await sleep(50);
  }
  return {
    url,
    pid: child.pid as number,
    child,
    exited,
    output: () => out,
    rss: () => {
      const status = readProc(child.pid as number);
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      return m ? Number(m[1]) * 1024 : 0;
    },
  };
}

function readProc(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}

function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const dir of ['app', 'business', 'foundation', 'migrations']) walk(path.join(root, dir));
  return newest;
}
