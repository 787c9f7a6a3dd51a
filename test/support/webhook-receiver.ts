// A real HTTP receiver of webhooks on loopback (node:http): records every
// request (headers and raw body) and answers what the test's `respond` says:
// a status code, or 'hold' to keep the request open until the receiver closes
// (an endpoint that stalls, or a delivery in flight when the sender dies).
import http from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** What the receiver answered (undefined while held or when the sender hung up first). */
  status?: number;
}

export type Respond = (request: Received, nth: number) => number | 'hold';

/** A Standard Webhooks secret for tests: whsec_ and the base64 of 32 bytes. */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

export class WebhookReceiver {
  readonly received: Received[] = [];
  private readonly sockets = new Set<Socket>();

  private readonly server: http.Server;
  url = '';

  private constructor(public respond: Respond) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const header = (name: string) => String(req.headers[name] ?? '');
        const got: Received = {
          id: header('webhook-id'),
          timestamp: header('webhook-timestamp'),
          signature: header('webhook-signature'),
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.received.push(got);
        const nth = this.received.filter((r) => r.id === got.id).length;
        const answer = this.respond(got, nth);
        if (answer === 'hold') return;
        got.status = answer;
        res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  static async start(respond: Respond = () => 200, path = '/hook'): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(respond);
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.server.address() as AddressInfo;
    receiver.url = `http://127.0.0.1:${port}${path}`;
    return receiver;
  }

  /** Requests answered 2xx, in arrival order. */
  accepted(): Received[] {
    return this.received.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300);
  }

  /** The first accepted request of each webhook-id, in arrival order. */
  firstAccepted(): Received[] {
    const seen = new Set<string>();
    return this.accepted().filter((r) => !seen.has(r.id) && seen.add(r.id));
  }

  /** Checks the signature with the standardwebhooks library, as a user's receiver would; returns the parsed body. */
  static verify(r: Received, secret = TEST_WEBHOOK_SECRET): unknown {
    return new Webhook(secret).verify(r.body, {
      'webhook-id': r.id,
      'webhook-timestamp': r.timestamp,
      'webhook-signature': r.signature,
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
