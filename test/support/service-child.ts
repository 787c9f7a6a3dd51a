// The compiled service as one child process (node dist/app/main.js), for tests
// that signal or kill it: kill -9, SIGTERM, memory of the process. Builds dist/
// first when it is missing or older than the sources.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

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

/** Starts the service with `env` (on top of this process's environment) and waits until it listens. */
export async function startServiceProcess(env: Record<string, string>): Promise<ServiceChild> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
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
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the service did not start: ${out}`)), 30_000);
    const look = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', look);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the service exited at start: ${out}`));
    });
  });
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
