// A real nginx for integration tests, running deploy/nginx/nginx.conf with the
// test's upstreams: the config is rendered into a temp dir (listen on a free
// loopback port, the upstream servers replaced, one worker, temp paths and the
// error log in the temp dir) and nginx runs in the foreground with that dir as
// its prefix. As root, nginx would run its workers as the compiled-in user
// (www-data on Debian), who cannot enter the 0700 temp dir: so `user root` then.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port';

const NGINX = process.env.NGINX ?? 'nginx';
const CONFIG = path.resolve(__dirname, '../../deploy/nginx/nginx.conf');

export class TestNginx {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts nginx in front of `upstreams` ("host:port"). */
  static async start(upstreams: readonly string[]): Promise<TestNginx> {
    const dir = await mkdtemp(path.join(tmpdir(), 'catchall-nginx-'));
    const port = await freePort();
    const conf = path.join(dir, 'nginx.conf');
    await writeFile(conf, renderConfig(await readFile(CONFIG, 'utf8'), { port, upstreams, dir }));
    const globals = [`daemon off;`, `pid ${dir}/nginx.pid;`, `error_log ${dir}/error.log warn;`];
    if (process.getuid?.() === 0) globals.push('user root;');
    const child = spawn(NGINX, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log'), '-g', globals.join(' ')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', () => undefined);
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    const nginx = new TestNginx(child, dir, port);
    const deadline = Date.now() + 10_000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        const log = await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '');
        await nginx.stop();
        throw new Error(`nginx did not start: ${stderr.trim()} ${log.trim()}`);
      }
      await sleep(20);
    }
    return nginx;
  }

  /** What nginx logged (warnings and errors), e.g. upstream failures. */
  errorLog(): Promise<string> {
    return readFile(path.join(this.dir, 'error.log'), 'utf8').catch(() => '');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise<void>((resolve) => {
        this.child.once('exit', () => resolve());
        this.child.kill('SIGTERM');
      });
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The deploy config with the test's port, upstreams, one worker and paths under `dir`. */
function renderConfig(template: string, at: { port: number; upstreams: readonly string[]; dir: string }): string {
  const servers = /^([ \t]*)server catchall-\d+:\d+([^;]*);\n/gm;
  const first = servers.exec(template);
  if (!first) throw new Error('deploy/nginx/nginx.conf: no upstream server lines found');
  const [indent, params] = [first[1], first[2]];
  const lines = at.upstreams.map((u) => `${indent}server ${u}${params};\n`).join('');
  let done = false;
  let conf = template.replace(servers, () => (done ? '' : ((done = true), lines)));
  const replaceOnce = (from: RegExp, to: string) => {
    if (!from.test(conf)) throw new Error(`deploy/nginx/nginx.conf: ${from} not found`);
    conf = conf.replace(from, to);
  };
  replaceOnce(/^(\s*)listen 80;/m, `$1listen 127.0.0.1:${at.port};`);
  replaceOnce(/^worker_processes auto;/m, 'worker_processes 1;');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${at.dir}/${t}_temp;`).join('\n');
  replaceOnce(/^http \{\n/m, `http {\n${temp}\n`);
  return conf;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
}
