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
  ])('refuses %j with one line and exit code 1', (env, line) => {
    const run = spawnSync(process.execPath, [main], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
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
  });
});
