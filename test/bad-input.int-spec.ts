// Regression tests for the bad-input defects of issue 10, through the real
// server: deeply nested JSON, an empty lookup, invalid punycode and IP
// literals, each on every path that takes a domain (PUT, JSON and NDJSON
// batches, GET, lookup). Every answer is a JSON 4xx (or 200), never a 500.
import { startServer } from '../app/main';
import { RunningServer } from '../app/server';
import { closeAgent, request } from './support/http';

let server: RunningServer;
const get = (path: string) => request(server.url, 'GET', path);
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(server.url, 'POST', path, body, headers);

beforeAll(async () => {
  server = await startServer({ STORE: 'memory', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', BODY_LIMIT_BYTES: '4194304' });
});
afterAll(async () => {
  await server.close();
  closeAgent();
});

function expect400(answer: { status: number; body: unknown; text: string }, message?: RegExp) {
  expect(answer.status).toBe(400);
  expect(answer.body).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.any(String) });
  if (message) expect(answer.text).toMatch(message);
  expect(answer.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
  expect(answer.text.length).toBeLessThan(2000);
}

const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
const nestedObject = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

describe('deeply nested JSON (defect 1)', () => {
  it.each([
    ['~4,100 levels, 8 KB', 4_100],
    ['200,000 levels, 400 KB', 200_000],
  ])('POST /events (JSON) with a nested domain, %s, is 400', async (_what, levels) => {
    const body = `{"events":[{"domain":${nested(levels)},"type":"delivered"}]}`;
    expect400(await post('/events', body, { 'content-type': 'application/json' }), /invalid domain an array of 1 item/);
  });

  it('POST /events (JSON) with a nested item and a nested body are 400', async () => {
    expect400(await post('/events', `{"events":[${nested(4_100)}]}`, { 'content-type': 'application/json' }));
    expect400(await post('/events', `{"events":${nested(4_100)}}`, { 'content-type': 'application/json' }));
    expect400(await post('/events', nested(200_000), { 'content-type': 'application/json' }));
    expect400(await post('/events', `{"events":[${nestedObject(100_000)}]}`, { 'content-type': 'application/json' }));
  });

  it('POST /events (NDJSON) with a nested line is 400 naming the line', async () => {
    const body = `{"domain":"a.com","type":"delivered"}\n{"domain":${nested(4_100)},"type":"bounced"}\n${nested(200_000)}\n`;
    const answer = await post('/events', body, { 'content-type': 'application/x-ndjson' });
    expect400(answer);
    expect(answer.body.errors).toEqual([
      { index: 1, reason: expect.stringMatching(/an array of 1 item/) },
      { index: 2, reason: expect.any(String) },
    ]);
  });

  it('POST /domains/lookup with a nested domain is 400', async () => {
    expect400(await post('/domains/lookup', `{"domains":[${nested(4_100)}]}`, { 'content-type': 'application/json' }), /an array of 1 item/);
    expect400(await post('/domains/lookup', `{"domains":${nestedObject(4_100)}}`, { 'content-type': 'application/json' }));
  });

  it('names a long bad string in bounded size', async () => {
    const answer = await post('/events', { events: [{ domain: `${'x'.repeat(100_000)}.com`, type: 'delivered' }] });
    expect400(answer, /x{64}…/);
  });
});

describe('empty lookup (defect 2)', () => {
  it('answers {"domains":[]} at once with no results', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => post('/domains/lookup', { domains: [] })));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ results: [] });
    }
    // Lookups beside it still work.
    expect((await post('/domains/lookup', { domains: ['a.com'] })).body.results).toHaveLength(1);
  });
});

// One table for defects 4 and 5: each name refused on every path.
const refused: Array<[string, RegExp]> = [
  ['xn--a.com', /not valid punycode/],
  ['XN--A.COM', /not valid punycode/],
  ['sub.xn--a.example', /not valid punycode/],
  ['1.2.3.4', /IP address/],
  ['127.1', /IP address/],
  ['0x7f.0.0.1', /IP address/],
  ['１２７.１', /IP address/],
  ['１２７．０．０．１', /IP address/],
  ['０ｘ７ｆ.0.0.1', /IP address/],
  ['[::1]', /IP address|not allowed/],
  ['example.123', /IP address/],
];

describe.each(refused)('the name %j (defects 4 and 5)', (name, reason) => {
  const events = [{ domain: 'fine.example', type: 'delivered' }, { domain: name, type: 'delivered' }];

  it('is refused by PUT', async () => {
    expect400(await request(server.url, 'PUT', `/events/${encodeURIComponent(name)}/delivered`), reason);
  });

  it('is refused in a JSON batch, which counts nothing', async () => {
    const answer = await post('/events', { events });
    expect400(answer, reason);
    expect(answer.body.errors).toEqual([{ index: 1, reason: expect.stringMatching(reason) }]);
  });

  it('is refused in an NDJSON batch', async () => {
    const body = events.map((e) => JSON.stringify(e)).join('\n');
    expect400(await post('/events', body, { 'content-type': 'application/x-ndjson' }), reason);
  });

  it('is refused by GET and by lookup', async () => {
    expect400(await get(`/domains/${encodeURIComponent(name)}`), reason);
    expect400(await post('/domains/lookup', { domains: ['fine.example', name] }), reason);
  });
});

describe('one canonical form per name', () => {
  it('counts case, trailing-dot, Unicode and punycode spellings together', async () => {
    const spellings = ['bücher.example', 'BÜCHER.EXAMPLE.', 'xn--bcher-kva.example', 'XN--BCHER-KVA.EXAMPLE', 'bücher．example'];
    for (const s of spellings) expect((await request(server.url, 'PUT', `/events/${encodeURIComponent(s)}/delivered`)).status).toBe(204);
    expect((await post('/events', { events: spellings.map((domain) => ({ domain, type: 'delivered' })) })).body).toEqual({ accepted: 5 });
    expect((await get('/domains/b%C3%BCcher.example')).body).toEqual({
      domain: 'xn--bcher-kva.example',
      status: 'unknown',
      delivered: 10,
      bounced: 0,
    });
    expect((await get('/domains/fine.example')).body.delivered).toBe(0);
  });
});
