// The default start (`make start` on a fresh machine): STORE=postgres with no
// DATABASE_URL runs the embedded PostgreSQL from the npm package, in a data
// directory of its own, and keeps the counts across restarts of the service
// (which stops the server it started).
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../app/main';
import type { RunningServer } from '../app/server';
import { freePort } from './support/free-port';
import { closeAgent, request } from './support/http';

jest.setTimeout(120_000);

let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'catchall-embedded-'));
  // When the tests run as root, the server runs as the postgres account, which must reach the data directory.
  await chmod(dir, 0o755);
  env = {
    STORE: 'postgres',
    EMBEDDED_PG_DIR: join(dir, 'postgres'),
    EMBEDDED_PG_PORT: String(await freePort()),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    OTEL_SDK_DISABLED: 'true',
  };
});

afterAll(async () => {
  closeAgent();
  await rm(dir, { recursive: true, force: true });
});

async function withServer(run: (server: RunningServer) => Promise<void>): Promise<void> {
  const server = await startServer(env);
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

it('serves durably from the embedded PostgreSQL and keeps counts across restarts', async () => {
  await withServer(async ({ url }) => {
    const puts = ['delivered', 'delivered', 'delivered', 'bounced'].map((type) =>
      request(url, 'PUT', `/events/Embedded.Example.COM/${type}`),
    );
    expect((await Promise.all(puts)).map((r) => r.status)).toEqual([204, 204, 204, 204]);
    const ready = await request(url, 'GET', '/health/ready');
    expect(ready.status).toBe(200);
  });

  await withServer(async ({ url }) => {
    const answer = await request(url, 'GET', '/domains/embedded.example.com');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      domain: 'embedded.example.com',
      status: 'not catch-all',
      delivered: 3,
      bounced: 1,
    });
  });
});
