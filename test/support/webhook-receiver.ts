// A real HTTP receiver of webhooks on loopback (node:http): records every
// request (headers and raw body) and answers what the test's `respond` says:
// a status code, or 'hold' to keep the request open until the receiver closes
// (an endpoint that stalls, or a delivery in flight when the sender dies).
import http from 'node:http';
import { AddressInfo } from 'node:net';
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
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    public respond: Respond,
  ) {}

  static async start(respond: Respond = () => 200, path = '/hook'): Promise<WebhookReceiver> {
    let receiver!: WebhookReceiver;
    const server = http.createServer((req, res) => {
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
        receiver.received.push(got);
        const nth = receiver.received.filter((r) => r.id === got.id).length;
        const answer = receiver.respond(got, nth);
        if (answer === 'hold') return;
        got.status = answer;
        res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    server.on('connection', (s) => {
      receiver.sockets.add(s);
      s.once('close', () => receiver.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}${path}`, respond);
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
