// End-to-end tests of every route of DESIGN §2 through the real Fastify server
// (memory store), including every error path and the threshold edges.
import { startServer } from '../app/main';
import { RunningServer } from '../app/server';
import { closeAgent, request } from './support/http';

let server: RunningServer;
const put = (path: string) => request(server.url, 'PUT', path);
const get = (path: string) => request(server.url, 'GET', path);
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(server.url, 'POST', path, body, headers);

beforeAll(async () => {
  server = await startServer({ STORE: 'memory', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', BODY_LIMIT_BYTES: '65536', MAX_BATCH_EVENTS: '500' });
});
afterAll(async () => {
  await server.close();
  closeAgent();
});

function expectJsonError(answer: { status: number; body: unknown; text: string }, status: number, message: RegExp) {
  expect(answer.status).toBe(status);
  expect(answer.body).toMatchObject({ statusCode: status, error: expect.any(String), message: expect.stringMatching(message) });
  expect(answer.text).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
}

describe('PUT /events/{domain}/{type}', () => {
  it('answers 204 and counts the event under the normalised name', async () => {
    expect((await put('/events/Single.Example.COM./delivered')).status).toBe(204);
    expect((await put('/events/single.example.com/bounced')).status).toBe(204);
    const answer = await get('/domains/single.example.com');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ domain: 'single.example.com', status: 'not catch-all', delivered: 1, bounced: 1 });
  });

  it('accepts IDN names and stores them as punycode', async () => {
    expect((await put(`/events/${encodeURIComponent('bücher.de')}/delivered`)).status).toBe(204);
    expect((await get('/domains/xn--bcher-kva.de')).body).toMatchObject({ domain: 'xn--bcher-kva.de', delivered: 1 });
  });

  it('echoes a request id', async () => {
    const answer = await request(server.url, 'PUT', '/events/rid.com/delivered', undefined, { 'x-request-id': 'abc-123' });
    expect(answer.headers['x-request-id']).toBe('abc-123');
    expect((await put('/events/rid.com/delivered')).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['/events/not_valid.com/delivered', /invalid domain "not_valid.com"/],
    ['/events/localhost/delivered', /at least two labels/],
    [`/events/${'a'.repeat(64)}.com/delivered`, /longer than 63/],
    [`/events/${'a.'.repeat(130)}com/delivered`, /longer than 253/],
    ['/events/a.com/opened', /invalid event type "opened"/],
    ['/events/-a.com/bounced', /hyphen/],
  ])('refuses %s with 400 and changes nothing', async (path, message) => {
    expectJsonError(await put(path), 400, message);
  });

  it('leaves counts untouched after bad requests', async () => {
    await put('/events/untouched.com/delivered');
    await put('/events/untouched.com/opened');
    await put('/events/untouched.com./clicked');
    expect((await get('/domains/untouched.com')).body).toEqual({ domain: 'untouched.com', status: 'unknown', delivered: 1, bounced: 0 });
  });
});

describe('the catch-all threshold, through the API', () => {
  it('is unknown at 1000 delivered, catch-all at 1001, and not catch-all forever after one bounce', async () => {
    const events = Array.from({ length: 1000 }, () => ({ domain: 'edge.example', type: 'delivered' }));
    for (let i = 0; i < 1000; i += 500) {
      expect((await post('/events', { events: events.slice(i, i + 500) })).body).toEqual({ accepted: 500 });
    }
    expect((await get('/domains/edge.example')).body).toEqual({ domain: 'edge.example', status: 'unknown', delivered: 1000, bounced: 0 });
    await put('/events/edge.example/delivered');
    expect((await get('/domains/edge.example')).body).toEqual({ domain: 'edge.example', status: 'catch-all', delivered: 1001, bounced: 0 });
    await put('/events/edge.example/bounced');
    expect((await get('/domains/edge.example')).body.status).toBe('not catch-all');
    await post('/events', { events: events.slice(0, 500) });
    expect((await get('/domains/edge.example')).body).toEqual({ domain: 'edge.example', status: 'not catch-all', delivered: 1501, bounced: 1 });
  });
});

describe('POST /events', () => {
  it('accepts a JSON batch', async () => {
    const answer = await post('/events', {
      events: [
        { domain: 'batch.com', type: 'delivered' },
        { domain: 'BATCH.com', type: 'delivered' },
        { domain: 'other-batch.com', type: 'bounced' },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ accepted: 3 });
    expect((await get('/domains/batch.com')).body.delivered).toBe(2);
  });

  it('accepts an NDJSON batch', async () => {
    const body = '{"domain":"nd.com","type":"delivered"}\n{"domain":"nd.com","type":"bounced"}\n{"domain":"nd.com","type":"delivered"}\n';
    const answer = await post('/events', body, { 'content-type': 'application/x-ndjson' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ accepted: 3 });
    expect((await get('/domains/nd.com')).body).toEqual({ domain: 'nd.com', status: 'not catch-all', delivered: 2, bounced: 1 });
  });

  it('refuses a batch with any invalid item whole, listing indexes and reasons', async () => {
    const answer = await post('/events', {
      events: [
        { domain: 'allornothing.com', type: 'delivered' },
        { domain: 'bad_name.com', type: 'delivered' },
        { domain: 'allornothing.com', type: 'opened' },
      ],
    });
    expectJsonError(answer, 400, /2 of 3 events are invalid; nothing was counted/);
    expect(answer.body.errors).toEqual([
      { index: 1, reason: expect.stringMatching(/invalid domain "bad_name.com"/) },
      { index: 2, reason: expect.stringMatching(/invalid event type "opened"/) },
    ]);
    expect((await get('/domains/allornothing.com')).body.delivered).toBe(0);
  });

  it('refuses an NDJSON batch with a broken line whole', async () => {
    const body = '{"domain":"ndbad.com","type":"delivered"}\n{oops\n';
    const answer = await post('/events', body, { 'content-type': 'application/x-ndjson' });
    expectJsonError(answer, 400, /nothing was counted/);
    expect(answer.body.errors).toEqual([{ index: 1, reason: 'line is not valid JSON' }]);
    expect((await get('/domains/ndbad.com')).body.delivered).toBe(0);
  });

  it.each([
    ['malformed JSON', '{"events": [', 400],
    ['a body of the wrong shape', '{"items": []}', 400],
    ['a JSON array', '[]', 400],
  ])('refuses %s with a JSON 4xx', async (_what, body, status) => {
    expectJsonError(await post('/events', body, { 'content-type': 'application/json' }), status, /./);
  });

  it('answers 413 for a body over the limit and for too many events', async () => {
    const big = JSON.stringify({ events: new Array(3000).fill({ domain: 'big.com', type: 'delivered' }) });
    expectJsonError(await post('/events', big, { 'content-type': 'application/json' }), 413, /larger than the limit|too large/i);
    const many = { events: new Array(501).fill({ domain: 'big.com', type: 'delivered' }) };
    expectJsonError(await post('/events', many), 413, /at most 500 events/);
    expect((await get('/domains/big.com')).body.delivered).toBe(0);
  });

  it('answers 415 for an unsupported content type', async () => {
    const answer = await post('/events', 'domain=a.com', { 'content-type': 'application/x-www-form-urlencoded' });
    expectJsonError(answer, 415, /Content-Type/i);
  });
});

describe('GET /domains/{domain} and POST /domains/lookup', () => {
  it('answers a never-seen domain as unknown with zero counts', async () => {
    expect((await get('/domains/never-seen.org')).body).toEqual({ domain: 'never-seen.org', status: 'unknown', delivered: 0, bounced: 0 });
  });

  it('refuses an invalid domain with 400', async () => {
    expectJsonError(await get('/domains/no_good.com'), 400, /invalid domain/);
  });

  it('looks up many domains in one call, in order', async () => {
    await put('/events/look1.com/delivered');
    await put('/events/look2.com/bounced');
    const answer = await post('/domains/lookup', { domains: ['LOOK1.com', 'look2.com', 'look3.com'] });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      results: [
        { domain: 'look1.com', status: 'unknown', delivered: 1, bounced: 0 },
        { domain: 'look2.com', status: 'not catch-all', delivered: 0, bounced: 1 },
        { domain: 'look3.com', status: 'unknown', delivered: 0, bounced: 0 },
      ],
    });
  });

  it('refuses more than 1000 domains, invalid names and wrong shapes with 400', async () => {
    expectJsonError(await post('/domains/lookup', { domains: new Array(1001).fill('a.com') }), 400, /at most 1000/);
    const bad = await post('/domains/lookup', { domains: ['ok.com', 'bad_.com'] });
    expectJsonError(bad, 400, /1 of 2 domains are invalid/);
    expect(bad.body.errors).toEqual([{ index: 1, reason: expect.stringMatching(/invalid domain/) }]);
    expectJsonError(await post('/domains/lookup', { names: [] }), 400, /"domains"/);
  });

  it('accepts exactly 1000 domains', async () => {
    const domains = Array.from({ length: 1000 }, (_, i) => `bulk${i}.net`);
    const answer = await post('/domains/lookup', { domains });
    expect(answer.status).toBe(200);
    expect(answer.body.results).toHaveLength(1000);
  });
});

describe('health, metrics and unknown routes', () => {
  it.each(['/health', '/health/live', '/health/ready'])('%s answers ok in the terminus format', async (path) => {
    const answer = await get(path);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'ok', info: expect.any(Object), error: {}, details: expect.any(Object) });
  });

  it('/health/ready reports the store and the backlog', async () => {
    const answer = await get('/health/ready');
    expect(answer.body.details.store).toMatchObject({ status: 'up', kind: 'memory' });
    expect(answer.body.details.ingest).toMatchObject({ status: 'up', backlog: expect.any(Number) });
  });

  it('/metrics exposes the Prometheus series', async () => {
    await put('/events/metrics.com/delivered');
    const answer = await get('/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/text\/plain/);
    for (const series of [
      'catchall_events_received_total{type="delivered"}',
      'catchall_flushes_total{result="ok"}',
      'catchall_flush_duration_seconds_bucket',
      'catchall_pending_events',
      'http_request_duration_seconds_bucket',
      'process_cpu_seconds_total',
    ]) {
      expect(answer.text).toContain(series);
    }
    expect(answer.text).toMatch(/http_request_duration_seconds_count\{method="PUT",route="\/events\/:domain\/:type",status_code="204"\} \d+/);
  });

  it('answers 404 JSON for unknown routes', async () => {
    expectJsonError(await get('/nope'), 404, /Cannot GET \/nope/);
    expectJsonError(await put('/events/a.com'), 404, /Cannot PUT/);
  });
});
