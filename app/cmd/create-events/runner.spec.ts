// The load engine against an in-memory stand-in for the service: what it sends
// in each mode, and how it books acknowledged, failed and uncertain events.
import { performance } from 'node:perf_hooks';
import { planDomains, plannedCounts } from './distribution';
import { HttpAnswer, HttpClient } from './http';
import { Options, withDefaults } from './options';
import { sendEvents } from './runner';

const options = (draft: Partial<Options>): Options => withDefaults({ seed: 11, progress: false, ...draft }, {});

type Event = { domain: string; type: string };

/** Counts what it is sent; `answer` may refuse a request by number. */
function stub(answer: (n: number, events: Event[]) => HttpAnswer | Error = () => ({ status: 0, body: '' })) {
  const counted = new Map<string, { delivered: number; bounced: number }>();
  let requests = 0;
  const client: HttpClient & { counted: typeof counted; requests: () => number } = {
    counted,
    requests: () => requests,
    close() {},
    async request(method, path, body, contentType) {
      const n = requests++;
      let events: Event[];
      if (method === 'PUT') {
        const [, , domain, type] = path.split('/');
        events = [{ domain, type }];
      } else if (contentType === 'application/x-ndjson') {
        events = body!.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Event);
      } else {
        events = (JSON.parse(body!) as { events: Event[] }).events;
      }
      const custom = answer(n, events);
      if (custom instanceof Error) throw custom;
      if (custom.status !== 0) return custom;
      for (const e of events) {
        const c = counted.get(e.domain.toLowerCase()) ?? { delivered: 0, bounced: 0 };
        c[e.type as 'delivered' | 'bounced']++;
        counted.set(e.domain.toLowerCase(), c);
      }
      return method === 'PUT' ? { status: 204, body: '' } : { status: 200, body: JSON.stringify({ accepted: events.length }) };
    },
  };
  return client;
}

describe('sendEvents', () => {
  it.each([
    ['single', 1],
    ['batch', 500],
    ['ndjson', 500],
  ] as const)('sends every planned event once in %s mode, %i a request', async (mode, perRequest) => {
    const o = options({ events: 20_000, mode });
    const client = stub();
    const stats = await sendEvents(o, client, planDomains(o.seed, { events: o.events }));
    expect(stats).toMatchObject({ eventsSent: 20_000, eventsAcked: 20_000, eventsFailed: 0, errors: {} });
    expect(client.requests()).toBe(Math.ceil(20_000 / perRequest));
    for (const t of stats.domains) {
      expect(t.acked).toEqual(plannedCounts(t.plan));
      expect(client.counted.get(t.key) ?? { delivered: 0, bounced: 0 }).toEqual(t.acked);
    }
    expect(stats.latency.totalCount).toBe(client.requests());
  });

  it('books 5xx and cut connections as uncertain, 4xx as not counted, and counts errors by status', async () => {
    const o = options({ events: 3000, order: 'burst' });
    const cut = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    const client = stub((n) => (n % 10 === 1 ? { status: 503, body: '', retryAfter: '1' } : n % 10 === 2 ? { status: 400, body: '' } : n % 10 === 3 ? cut : { status: 0, body: '' }));
    const stats = await sendEvents(o, client, planDomains(o.seed, { events: o.events }));
    expect(stats.errors).toEqual({ '503': 300, '400': 300, ECONNRESET: 300 });
    expect(stats).toMatchObject({ eventsSent: 3000, eventsAcked: 2100, eventsFailed: 900, requestsFailed: 900 });
    const sum = (f: 'acked' | 'uncertain') => stats.domains.reduce((s, t) => s + t[f].delivered + t[f].bounced, 0);
    expect(sum('acked')).toBe(2100);
    expect(sum('uncertain')).toBe(600);
  });

  it('retries with --retry, keeping the failed attempt as uncertain', async () => {
    const o = options({ events: 100, retry: 2 });
    const client = stub((n) => (n === 0 ? { status: 503, body: '', retryAfter: '0' } : { status: 0, body: '' }));
    const stats = await sendEvents(o, client, planDomains(o.seed, { events: o.events }));
    expect(stats).toMatchObject({ eventsAcked: 100, eventsFailed: 0, errors: { '503': 1 } });
    expect(stats.domains.reduce((s, t) => s + t.uncertain.delivered + t.uncertain.bounced, 0)).toBe(1);
  });

  it('treats a batch answer that does not accept every event as a failure', async () => {
    const o = options({ events: 1000, mode: 'batch' });
    const client = stub(() => ({ status: 200, body: '{"accepted":1}' }));
    const stats = await sendEvents(o, client, planDomains(o.seed, { events: o.events }));
    expect(stats).toMatchObject({ eventsAcked: 0, eventsFailed: 1000, errors: { 'accepted≠sent': 2 } });
  });

  it('holds an open-loop rate', async () => {
    const o = options({ events: 400, rate: 2000 });
    const started = performance.now();
    const stats = await sendEvents(o, stub(), planDomains(o.seed, { events: o.events }));
    const elapsed = performance.now() - started;
    expect(stats.eventsAcked).toBe(400);
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(1000);
  });

  it('stops at --duration', async () => {
    const o = options({ durationMs: 150, rate: 1000 });
    const started = performance.now();
    const stats = await sendEvents(o, stub(), planDomains(o.seed));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(stats.eventsSent).toBeGreaterThan(50);
    expect(stats.eventsSent).toBeLessThanOrEqual(151);
  });

  it('stops early when the service refuses connection after connection', async () => {
    const o = options({ events: 10_000, concurrency: 4 });
    const refused = () => Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    const stats = await sendEvents(o, stub(refused), planDomains(o.seed, { events: o.events }));
    expect(stats.stoppedEarly).toContain('stopped accepting connections');
    expect(stats.eventsSent).toBeLessThan(100);
  });
});
