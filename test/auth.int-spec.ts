// Authentication, per-key rate limits and security headers through the real
// server (memory store): which key each route needs, 401/403 with
// WWW-Authenticate, the key's name (never its secret) in logs and metrics,
// and events (not requests) counted against a key's rate.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from '../app/main';
import { RunningServer } from '../app/server';
import { closeAgent, request } from './support/http';

const WRITE = 'w-secret-0123456789abcdef';
const READ = 'r-secret-0123456789abcdef';
const OTHER = 'o-secret-0123456789abcdef';
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const base = { STORE: 'memory', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' };

afterAll(() => closeAgent());

describe('with API_KEYS set', () => {
  let server: RunningServer;
  const call = (method: string, p: string, headers: Record<string, string> = {}, body?: unknown) =>
    request(server.url, method, p, body, { ...headers });

  beforeAll(async () => {
    server = await startServer({ ...base, API_KEYS: `ingest:write:${WRITE},dash:read:${READ}` });
  });
  afterAll(() => server.close());

  it.each([
    ['PUT', '/events/auth.example/delivered', undefined],
    ['POST', '/events', { events: [{ domain: 'auth.example', type: 'delivered' }] }],
    ['GET', '/domains/auth.example', undefined],
    ['POST', '/domains/lookup', { domains: ['auth.example'] }],
    ['GET', '/metrics', undefined],
  ])('%s %s without a key is 401 with WWW-Authenticate: Bearer', async (method, p, body) => {
    const answer = await call(method, p, {}, body);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="catchall"');
    expect(answer.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.stringMatching(/Bearer/) });
  });

  it.each([
    ['a wrong secret', { authorization: `Bearer ${OTHER}` }],
    ['a secret with one character changed', { authorization: `Bearer ${WRITE.slice(0, -1)}x` }],
    ['a prefix of a secret', { authorization: `Bearer ${WRITE.slice(0, 8)}` }],
    ['another scheme', { authorization: `Basic ${WRITE}` }],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ])('is 401 with %s, and counts nothing', async (_what, headers) => {
    const answer = await call('PUT', '/events/wrongkey.example/delivered', headers);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer realm="catchall"/);
    expect((await call('GET', '/domains/wrongkey.example', bearer(READ))).body.delivered).toBe(0);
  });

  it('lets a write key write and read', async () => {
    expect((await call('PUT', '/events/keyed.example/delivered', bearer(WRITE))).status).toBe(204);
    const batch = await call('POST', '/events', bearer(WRITE), { events: [{ domain: 'keyed.example', type: 'bounced' }] });
    expect(batch.body).toEqual({ accepted: 1 });
    expect((await call('GET', '/domains/keyed.example', bearer(WRITE))).body).toMatchObject({ delivered: 1, bounced: 1 });
  });

  it('lets a read key read but not write (403, insufficient_scope)', async () => {
    expect((await call('GET', '/domains/keyed.example', bearer(READ))).status).toBe(200);
    expect((await call('POST', '/domains/lookup', bearer(READ), { domains: ['keyed.example'] })).status).toBe(200);
    const put = await call('PUT', '/events/keyed.example/bounced', bearer(READ));
    expect(put.status).toBe(403);
    expect(put.headers['www-authenticate']).toBe('Bearer realm="catchall", error="insufficient_scope", scope="write"');
    expect(put.body.message).toMatch(/"dash" has scope read/);
    expect((await call('POST', '/events', bearer(READ), { events: [] })).status).toBe(403);
    expect((await call('GET', '/domains/keyed.example', bearer(READ))).body.bounced).toBe(1);
  });

  it('keeps /health/* open and /metrics behind a read key', async () => {
    for (const p of ['/health', '/health/live', '/health/ready']) expect((await call('GET', p)).status).toBe(200);
    expect((await call('GET', '/metrics', bearer(READ))).status).toBe(200);
  });

  it('shows key names, never secrets, in metrics', async () => {
    const text = (await call('GET', '/metrics', bearer(READ))).text;
    expect(text).toMatch(/catchall_api_key_requests_total\{key="ingest"\} \d+/);
    expect(text).toMatch(/catchall_api_key_requests_total\{key="dash"\} \d+/);
    expect(text).toMatch(/catchall_auth_refusals_total\{status="403",key="dash"\} \d+/);
    expect(text).not.toContain(WRITE);
    expect(text).not.toContain(READ);
  });

  it('answers an unknown route 404 whatever the key', async () => {
    expect((await call('GET', '/nope')).status).toBe(404);
  });

  it('sends the security headers on every answer, refusals included', async () => {
    for (const answer of [await call('GET', '/domains/keyed.example', bearer(READ)), await call('PUT', '/events/a.com/delivered')]) {
      expect(answer.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      });
    }
  });

  it('answers the same whatever the Host header says', async () => {
    const answer = await call('GET', '/domains/keyed.example', { ...bearer(READ), host: 'evil.example:1234' });
    expect(answer.status).toBe(200);
    expect(answer.body.domain).toBe('keyed.example');
  });
});

describe('METRICS_PUBLIC and API_KEYS_FILE', () => {
  it('opens /metrics with METRICS_PUBLIC=true and reads keys from a file (one a line, comments allowed)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'catchall-keys-'));
    const file = path.join(dir, 'keys');
    writeFileSync(file, `# mounted by the orchestrator\nfilekey:write:${OTHER}\n\n`);
    const server = await startServer({ ...base, API_KEYS: `dash:read:${READ}`, API_KEYS_FILE: file, METRICS_PUBLIC: 'true' });
    try {
      expect((await request(server.url, 'GET', '/metrics')).status).toBe(200);
      expect((await request(server.url, 'PUT', '/events/file.example/delivered', undefined, bearer(OTHER))).status).toBe(204);
      expect((await request(server.url, 'PUT', '/events/file.example/delivered', undefined, bearer(READ))).status).toBe(403);
      expect((await request(server.url, 'GET', '/domains/file.example')).status).toBe(401);
    } finally {
      await server.close();
    }
  });
});

describe('per-key rate limits (RATE_LIMIT_EVENTS_PER_S)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      ...base,
      API_KEYS: `fast:write:${WRITE},slow:write:${OTHER},dash:read:${READ}`,
      RATE_LIMIT_EVENTS_PER_S: '10',
      RATE_LIMIT_BURST: '100',
    });
  });
  afterAll(() => server.close());
  const batch = (n: number, domain: string) => ({ events: Array.from({ length: n }, () => ({ domain, type: 'delivered' })) });

  it('counts events, not requests: one batch of 100 spends the burst, the next event is 429', async () => {
    const first = await request(server.url, 'POST', '/events', batch(100, 'limited.example'), bearer(WRITE));
    expect(first.body).toEqual({ accepted: 100 });
    const over = await request(server.url, 'POST', '/events', batch(50, 'limited.example'), bearer(WRITE));
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests', message: expect.stringMatching(/nothing was counted/) });
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(over.headers['ratelimit-policy']).toBe('"events";q=100;w=10');
    expect(over.headers.ratelimit).toMatch(/^"events";r=0;t=\d+$/);
    const put = await request(server.url, 'PUT', '/events/limited.example/delivered', undefined, bearer(WRITE));
    expect(put.status).toBe(429);
    expect((await request(server.url, 'GET', '/domains/limited.example', undefined, bearer(READ))).body.delivered).toBe(100);
  });

  it('keeps one bucket per key: another key is not limited by the first', async () => {
    const answer = await request(server.url, 'POST', '/events', batch(100, 'other-key.example'), bearer(OTHER));
    expect(answer.status).toBe(200);
  });

  it('admits a batch larger than the burst when the bucket is full (then the key waits)', async () => {
    const big = await startServer({ ...base, AUTH: 'none', RATE_LIMIT_EVENTS_PER_S: '10', RATE_LIMIT_BURST: '20' });
    try {
      expect((await request(big.url, 'POST', '/events', batch(50, 'big.example'))).status).toBe(200);
      const next = await request(big.url, 'PUT', '/events/big.example/delivered');
      expect(next.status).toBe(429);
      expect(Number(next.headers['retry-after'])).toBeGreaterThanOrEqual(3);
      const text = (await request(big.url, 'GET', '/metrics')).text;
      expect(text).toMatch(/catchall_rate_limited_events_total\{key="anonymous"\} 1/);
    } finally {
      await big.close();
    }
  });

  it('names the key in the 429 metrics', async () => {
    const text = (await request(server.url, 'GET', '/metrics', undefined, bearer(READ))).text;
    expect(text).toMatch(/catchall_rate_limited_events_total\{key="fast"\} 51/);
    expect(text).toMatch(/catchall_rate_limited_requests_total\{key="fast"\} 2/);
  });
});

describe('create-events against a service with keys', () => {
  it('sends CATCHALL_API_KEY as a bearer token, and verifies with it', async () => {
    const { run } = await import('../app/cmd/create-events');
    const { withDefaults } = await import('../app/cmd/create-events/options');
    const server = await startServer({ ...base, API_KEYS: `ingest:write:${WRITE}` });
    try {
      const report = await run(withDefaults({ url: server.url, progress: false, events: 2_000, mode: 'ndjson', seed: 7 }, { CATCHALL_API_KEY: WRITE }));
      expect(report.events).toEqual({ sent: 2_000, acknowledged: 2_000, failed: 0 });
      expect(report.verification.outcome).toBe('passed');
    } finally {
      await server.close();
    }
  });
});
