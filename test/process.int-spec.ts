// The compiled service as a user runs it (node dist/app/main.js): a wrong
// setting stops it with one clear line; SIGTERM shuts it down cleanly.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { request, closeAgent } from './support/http';

const root = path.resolve(__dirname, '..');
const main = path.join(root, 'dist/app/main.js');

beforeAll(() => {
  if (!existsSync(main)) {
    const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
  }
});
afterAll(() => closeAgent());

describe('start-up configuration', () => {
  it.each([
    [{ PORT: 'abc' }, /^invalid configuration: PORT="abc", expected an integer from 0 to 65535$/],
    [{ ACK_MODE: 'sometimes' }, /^invalid configuration: ACK_MODE="sometimes", expected one of durable, buffered$/],
    [{ STORE: 'mongo' }, /^invalid configuration: STORE="mongo", expected one of postgres, memory$/],
    [{ FLUSH_INTERVAL_MS: '-5' }, /^invalid configuration: FLUSH_INTERVAL_MS="-5", expected an integer from 1 to 60000$/],
    [
      { REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2' },
      /^invalid configuration: REDIS_CLUSTER_NODES="10.0.0.1:7000,10.0.0.2", expected Redis Cluster nodes as host:port,host:port,…$/,
    ],
    [
      { STORE: 'postgres', FLUSH_CONCURRENCY: '8', DATABASE_POOL_SIZE: '4' },
      /^invalid configuration: FLUSH_CONCURRENCY=8 is more than DATABASE_POOL_SIZE=4: each flush in flight needs a connection of the pool$/,
    ],
    [{ NODE_ENV: 'production', STORE: 'memory' }, /^invalid configuration: NODE_ENV=production needs API_KEYS or API_KEYS_FILE .*or AUTH=none/],
    [{ API_KEYS: 'ingest:admin:0123456789abcdef0123' }, /^invalid configuration: API_KEYS=\*\*\*, expected name:scope:secret entries/],
    [{ API_KEYS: 'ingest:write:short' }, /^invalid configuration: API_KEYS=\*\*\*, expected/],
    [{ AUTH: 'none', API_KEYS: 'ingest:write:0123456789abcdef0123' }, /^invalid configuration: AUTH=none but API_KEYS/],
    [{ API_KEYS_FILE: '/nonexistent/keys' }, /^invalid configuration: API_KEYS_FILE="\/nonexistent\/keys" cannot be read \(ENOENT\)$/],
    [
      { HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_HEADERS_TIMEOUT_MS: '5000' },
      /^invalid configuration: HTTP_HEADERS_TIMEOUT_MS=5000 is more than HTTP_REQUEST_TIMEOUT_MS=1000/,
    ],
    [{ HTTP_MAX_CONNECTIONS: '0' }, /^invalid configuration: HTTP_MAX_CONNECTIONS="0", expected an integer from 1 to 1000000$/],
    [{ RATE_LIMIT_EVENTS_PER_S: 'fast' }, /^invalid configuration: RATE_LIMIT_EVENTS_PER_S="fast", expected an integer/],
    // Start-up failures past configuration are one line too (was: 25 lines of Nest stack).
    [
      { STORE: 'postgres', DATABASE_URL: 'postgres://u:hunter2@127.0.0.1:1/catchall' },
      /^catchall failed to start: database postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/catchall: connect ECONNREFUSED 127\.0\.0\.1:1$/,
    ],
    [
      { STORE: 'postgres', DATABASE_URL: 'postgres://u:hunter2@no-such-host.invalid/catchall' },
      /^catchall failed to start: database postgres:\/\/u:\*\*\*@no-such-host\.invalid\/catchall: getaddrinfo E(NOTFOUND|AI_AGAIN) no-such-host\.invalid$/,
    ],
  ])('refuses %j with one line and exit code 1', (env, line) => {
    const run = spawnSync(process.execPath, [main], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    expect(run.stdout.trim()).toBe('');
    expect(run.stderr).not.toMatch(/hunter2|0123456789abcdef/);
  });
});

describe('signals', () => {
  it('shuts down on SIGTERM with exit code 0 after flushing', async () => {
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, STORE: 'memory', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ACK_MODE: 'buffered', FLUSH_INTERVAL_MS: '60000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start: ${out}`)), 20_000);
      child.stdout.on('data', () => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    expect((await request(url, 'PUT', '/events/sig.com/delivered')).status).toBe(204);
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(out).toMatch(/pending events flushed/);
    expect(out).toMatch(/shutdown complete/);
    // Development without keys starts open and says, once, how to set a key.
    expect(out.match(/authentication is off: set API_KEYS=name:write:<secret>/g)).toHaveLength(1);
  });
});

describe('authentication in the logs', () => {
  it('logs the key name on request lines and masks secrets in the configuration line', async () => {
    const secret = 'log-secret-0123456789abcdef';
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, STORE: 'memory', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', OTEL_SDK_DISABLED: 'true', API_KEYS: `ingest:write:${secret}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start: ${out}`)), 20_000);
      child.stdout.on('data', () => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    expect((await request(url, 'PUT', '/events/logged.example/delivered', undefined, { authorization: `Bearer ${secret}` })).status).toBe(204);
    expect((await request(url, 'PUT', '/events/logged.example/delivered', undefined, { authorization: 'Bearer wrong-0123456789abcdef' })).status).toBe(401);
    const exit = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await exit;
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const config = lines.find((l) => l.context === 'configuration') as { config: Record<string, unknown> };
    expect(config.config.API_KEYS).toBe('ingest:write:***');
    const done = lines.filter((l) => l.msg === 'request completed');
    expect(done.find((l) => (l.res as { statusCode: number }).statusCode === 204)).toMatchObject({ key: 'ingest' });
    expect(done.find((l) => (l.res as { statusCode: number }).statusCode === 401)).not.toHaveProperty('key');
    expect(out).not.toContain(secret);
    expect(out).not.toContain('wrong-0123456789abcdef');
  });
});
