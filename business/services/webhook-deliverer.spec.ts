import { setTimeout as sleep } from 'node:timers/promises';
import { StatusTransition } from '../models';
import { Change, SendOutcome, WebhookMessage, WebhookSender } from '../ports';
import { MemoryChangeFeed } from '../adapters/memory/memory-change-feed.adapter';
import { MemoryWebhookState } from '../adapters/memory/memory-webhook-state.adapter';
import { backoffDelay, endpointKey, WebhookDeliverer, WebhookDelivererOptions, webhookId, WebhookObserver } from './webhook-deliverer';

/** A sender that records every attempt and answers what `answer` says (default: 2xx). */
class FakeSender extends WebhookSender {
  readonly sent: Array<{ url: string; message: WebhookMessage }> = [];
  answer: (url: string, message: WebhookMessage, nth: number) => SendOutcome = () => ({ ok: true, status: 204 });

  async send(url: string, message: WebhookMessage): Promise<SendOutcome> {
    this.sent.push({ url, message });
    const nth = this.sent.filter((s) => s.url === url && s.message.id === message.id).length;
    return this.answer(url, message, nth);
  }

  domainsTo(url: string): string[] {
    return this.sent.filter((s) => s.url === url).map((s) => JSON.parse(s.message.body).data.domain);
  }
}

const A = { key: endpointKey('http://a.test/hook'), url: 'http://a.test/hook' };
const B = { key: endpointKey('http://b.test/hook'), url: 'http://b.test/hook' };

function transition(domain: string): StatusTransition {
  return { domain, from: 'unknown', to: 'catch-all', delivered: 1001, bounced: 0 };
}

function options(over: Partial<WebhookDelivererOptions> = {}): WebhookDelivererOptions {
  return {
    owner: 'node-1',
    maxAttempts: 4,
    backoffMs: 1,
    backoffMaxMs: 5,
    leaseMs: 300,
    batch: 3,
    render: (c: Change) => ({ cursor: String(c.id), domain: c.domain }),
    ...over,
  };
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('WebhookDeliverer', () => {
  let feed: MemoryChangeFeed;
  let state: MemoryWebhookState;
  let sender: FakeSender;
  const running: WebhookDeliverer[] = [];

  function deliverer(over: Partial<WebhookDelivererOptions> = {}, observer: WebhookObserver = {}, endpoints = [A]): WebhookDeliverer {
    const d = new WebhookDeliverer(feed, state, sender, endpoints, options(over), observer);
    running.push(d);
    d.start();
    return d;
  }

  beforeEach(() => {
    feed = new MemoryChangeFeed();
    state = new MemoryWebhookState();
    sender = new FakeSender();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((d) => d.close()));
  });

  it('sends every change to every endpoint once, in feed order, as a domain.status_changed message with a stable id', async () => {
    feed.append(['a.com', 'b.com', 'c.com', 'd.com'].map(transition));
    deliverer({}, {}, [A, B]);
    feed.append(['e.com', 'f.com'].map(transition)); // after the loops started: woken by the feed
    await until(() => sender.sent.length === 12);
    for (const ep of [A, B]) expect(sender.domainsTo(ep.url)).toEqual(['a.com', 'b.com', 'c.com', 'd.com', 'e.com', 'f.com']);
    const first = sender.sent.find((s) => s.url === A.url)!;
    expect(first.message.id).toBe(`msg_1_${A.key}`);
    const body = JSON.parse(first.message.body);
    expect(body).toEqual({
      type: 'domain.status_changed',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: { cursor: '1', domain: 'a.com' },
    });
    expect(await state.acquire(A.key, 'node-1', 300)).toBe(6);
  });

  it('retries a failing endpoint with the same webhook-id until it answers 2xx', async () => {
    sender.answer = (_url, _m, nth) => (nth <= 3 ? { ok: false, error: 'HTTP 500' } : { ok: true, status: 200 });
    const failed: number[] = [];
    const delivered: number[] = [];
    deliverer({}, { attemptFailed: (_e, _c, attempt) => failed.push(attempt), delivered: (_e, _c, attempts) => delivered.push(attempts) });
    feed.append([transition('retry.com')]);
    await until(() => delivered.length === 1);
    expect(sender.sent.map((s) => s.message.id)).toEqual(Array(4).fill(webhookId(1, A.key)));
    expect(new Set(sender.sent.map((s) => s.message.body)).size).toBe(1);
    expect(failed).toEqual([1, 2, 3]);
    expect(delivered).toEqual([4]);
    expect(await state.failures(10)).toEqual([]);
  });

  it('parks a change after maxAttempts and goes on with the next ones', async () => {
    sender.answer = (_url, m) => (m.body.includes('bad.com') ? { ok: false, error: 'HTTP 410' } : { ok: true, status: 204 });
    const parked: number[] = [];
    deliverer({ maxAttempts: 3 }, { parked: (f) => parked.push(f.changeId) });
    feed.append(['ok1.com', 'bad.com', 'ok2.com'].map(transition));
    await until(() => sender.sent.filter((s) => s.message.body.includes('ok2.com')).length === 1);
    expect(sender.domainsTo(A.url)).toEqual(['ok1.com', 'bad.com', 'bad.com', 'bad.com', 'ok2.com']);
    expect(parked).toEqual([2]);
    expect(await state.failures(10)).toEqual([{ endpoint: A.key, changeId: 2, attempts: 3, lastError: 'HTTP 410', at: expect.any(Date) }]);
    expect(await state.parkedCounts()).toEqual(new Map([[A.key, 1]]));
  });

  it('with two deliverers on one state, one holds the lease and each change is sent once; the other takes over when it stops', async () => {
    const holders: string[] = [];
    const first = deliverer({ owner: 'node-1' }, { lease: (_ep, held) => held && holders.push('node-1') });
    await until(() => holders.length === 1);
    const second = deliverer({ owner: 'node-2' }, { lease: (_ep, held) => held && holders.push('node-2') });
    feed.append(['one.com', 'two.com', 'three.com'].map(transition));
    await until(() => sender.sent.length === 3);
    await sleep(150); // half a lease: node-2 looked again meanwhile and found it held
    expect(sender.domainsTo(A.url)).toEqual(['one.com', 'two.com', 'three.com']);
    expect(holders).toEqual(['node-1']);
    await first.close(); // gives the lease up
    feed.append(['four.com'].map(transition));
    await until(() => sender.sent.length === 4);
    expect(sender.domainsTo(A.url)).toEqual(['one.com', 'two.com', 'three.com', 'four.com']);
    expect(holders).toEqual(['node-1', 'node-2']);
    await second.close();
  });

  it('stops sending as soon as it finds that another owner holds the lease', async () => {
    sender.answer = () => ({ ok: false, error: 'HTTP 503' });
    const lost: boolean[] = [];
    deliverer({ backoffMs: 100, backoffMaxMs: 100, leaseMs: 30, random: () => 1 }, { lease: (_ep, held) => lost.push(held) });
    feed.append([transition('stolen.com')]);
    await until(() => sender.sent.length === 1);
    // During the backoff another node holds the lease (as if node-1 had stalled past its expiry).
    await state.release(A.key, 'node-1');
    expect(await state.acquire(A.key, 'node-2', 60_000)).toBe(0);
    await sleep(300);
    expect(sender.sent).toHaveLength(1);
    expect(lost).toEqual([true, false]);
  });

  it('keeps the lease through long backoffs: a second deliverer never sends meanwhile', async () => {
    sender.answer = (_u, _m, nth) => (nth <= 2 ? { ok: false, error: 'HTTP 503' } : { ok: true, status: 200 });
    const opts = { leaseMs: 150, backoffMs: 500, backoffMaxMs: 500, random: () => 1 };
    const holders: string[] = [];
    deliverer({ ...opts, owner: 'node-1' }, { lease: (_ep, held) => held && holders.push('node-1') });
    await until(() => holders.length === 1);
    deliverer({ ...opts, owner: 'node-2' }, { lease: (_ep, held) => held && holders.push('node-2') });
    feed.append([transition('patient.com')]);
    await until(() => sender.sent.length === 3, 5_000); // two failures, 500 ms apart (over three leases each), then 2xx
    await sleep(100);
    expect(sender.sent).toHaveLength(3);
    expect(holders).toEqual(['node-1']);
  });

  it('sends a change again when the state fails after its 2xx, then goes on (at least once, never skipped)', async () => {
    const real = state.advance.bind(state);
    let failures = 1;
    state.advance = async (...args) => {
      if (failures-- > 0) throw new Error('database unreachable');
      return real(...args);
    };
    const stateErrors: unknown[] = [];
    deliverer({}, { stateFailed: (_ep, err) => stateErrors.push(err) });
    feed.append(['x.com', 'y.com'].map(transition));
    await until(() => sender.domainsTo(A.url).includes('y.com'));
    expect(sender.domainsTo(A.url)).toEqual(['x.com', 'x.com', 'y.com']);
    expect(new Set(sender.sent.slice(0, 2).map((s) => s.message.id)).size).toBe(1);
    expect(stateErrors).toHaveLength(1);
  });

  it('close() ends a backoff at once and leaves the change unacknowledged', async () => {
    sender.answer = () => ({ ok: false, error: 'HTTP 500' });
    const d = deliverer({ backoffMs: 60_000, backoffMaxMs: 60_000 });
    feed.append([transition('slow.com')]);
    await until(() => sender.sent.length === 1);
    const started = Date.now();
    await d.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await state.acquire(A.key, 'other', 300)).toBe(0); // released, cursor not moved
  });
});

describe('WebhookDeliverer.close with a state that does not answer', () => {
  it('does not wait more than a bounded time to give the lease up', async () => {
    const feed = new MemoryChangeFeed();
    const state = new MemoryWebhookState();
    state.release = () => new Promise(() => undefined);
    const d = new WebhookDeliverer(feed, state, new FakeSender(), [A], options());
    d.start();
    await sleep(20);
    const started = Date.now();
    await d.close();
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, with half of it random', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, 100, 1_000, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, 100, 1_000, () => 0.999999))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffDelay(1_000, 100, 1_000, () => 0.5)).toBe(750);
  });
});
