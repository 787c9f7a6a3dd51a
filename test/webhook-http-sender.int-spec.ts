// The HTTP webhook sender against real local servers: a 2xx is success, with
// the three Standard Webhooks headers that the standardwebhooks library
// verifies; any other status (a redirect too: not followed), a refused
// connection and no answer within the timeout are failures with a short reason;
// the stop signal aborts an attempt at once.
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { HttpWebhookSender } from '../business/adapters/webhook-http/http-webhook-sender.adapter';
import { freePort } from './support/free-port';
import { TEST_WEBHOOK_SECRET, WebhookReceiver } from './support/webhook-receiver';

const message = { id: 'msg_7_abc', body: JSON.stringify({ type: 'domain.status_changed', data: { domain: 'a.com' } }) };
const never = new AbortController().signal;
const receivers: WebhookReceiver[] = [];

async function receiver(respond: (nth: number) => number | 'hold'): Promise<WebhookReceiver> {
  const r = await WebhookReceiver.start((_r, nth) => respond(nth));
  receivers.push(r);
  return r;
}

afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});

describe('HttpWebhookSender', () => {
  const sender = new HttpWebhookSender(TEST_WEBHOOK_SECRET, 500);

  it('POSTs the body with headers that verify, and calls a 2xx a success', async () => {
    const r = await receiver(() => 202);
    expect(await sender.send(r.url, message, never)).toEqual({ ok: true, status: 202 });
    expect(r.received).toHaveLength(1);
    const got = r.received[0];
    expect(got.id).toBe('msg_7_abc');
    expect(got.body).toBe(message.body);
    expect(Math.abs(Number(got.timestamp) - Date.now() / 1000)).toBeLessThan(5);
    expect(got.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(WebhookReceiver.verify(got)).toEqual(JSON.parse(message.body));
    expect(() => WebhookReceiver.verify(got, `whsec_${Buffer.alloc(32, 9).toString('base64')}`)).toThrow(/signature/i);
  });

  it('calls any other status a failure, a redirect included (not followed)', async () => {
    for (const status of [500, 404, 301, 410]) {
      const r = await receiver(() => status);
      expect(await sender.send(r.url, message, never)).toEqual({ ok: false, error: `HTTP ${status}` });
      expect(r.received).toHaveLength(1);
    }
  });

  it('fails with a short reason when nothing listens, or when no answer comes within the timeout', async () => {
    const closed = await sender.send(`http://127.0.0.1:${await freePort()}/hook`, message, never);
    expect(closed).toEqual({ ok: false, error: expect.stringContaining('ECONNREFUSED') });
    const r = await receiver(() => 'hold');
    const started = Date.now();
    expect(await sender.send(r.url, message, never)).toEqual({ ok: false, error: 'no answer within 500 ms' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('gives up an attempt at once when the stop signal aborts', async () => {
    const slow = new HttpWebhookSender(TEST_WEBHOOK_SECRET, 60_000);
    const r = await receiver(() => 'hold');
    const stop = new AbortController();
    const sending = slow.send(r.url, message, stop.signal);
    while (r.received.length === 0) await new Promise((res) => setTimeout(res, 10));
    stop.abort();
    expect(await sending).toEqual({ ok: false, error: 'aborted' });
  });

  it('does not read a large answer', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (res.write(chunk));
      };
      res.on('drain', pump);
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      expect(await sender.send(`http://127.0.0.1:${port}/`, message, never)).toEqual({ ok: true, status: 200 });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
