// Sends webhook messages over HTTP(S) with Node's fetch (undici), signed per
// the Standard Webhooks specification by the `standardwebhooks` package:
// webhook-id, webhook-timestamp (this attempt's time, in seconds) and
// webhook-signature (v1,<base64 HMAC-SHA256 of id.timestamp.body>). Each
// attempt is bounded by timeoutMs; redirects are not followed (a 3xx is a
// failed attempt, as the specification says only 2xx is success). The answer's
// body is not read, only cancelled, so a large answer costs nothing.
import { Webhook } from 'standardwebhooks';
import { SendOutcome, WebhookMessage, WebhookSender } from '../../ports';

const USER_AGENT = 'catchall-webhooks/1';

export class HttpWebhookSender extends WebhookSender {
  private readonly signer: Webhook;

  /** @param secret `whsec_<base64>` (WEBHOOK_SECRET) */
  constructor(
    secret: string,
    private readonly timeoutMs: number,
  ) {
    super();
    this.signer = new Webhook(secret);
  }

  /** The three Standard Webhooks headers of `message` signed at `at`. */
  headers(message: WebhookMessage, at: Date): Record<string, string> {
    return {
      'webhook-id': message.id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': this.signer.sign(message.id, at, message.body),
    };
  }

  async send(url: string, message: WebhookMessage, signal: AbortSignal): Promise<SendOutcome> {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...this.headers(message, new Date()) },
        body: message.body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
      return { ok: false, error: `HTTP ${response.status}` };
    } catch (err) {
      return { ok: false, error: describeError(err, this.timeoutMs) };
    }
  }
}

/**
 * A short reason for a failed attempt (fetch hides the network error in
 * `cause`). Duck-typed, not instanceof: fetch's errors may come from another
 * realm (Node's internals, or a test runner's sandbox).
 */
function describeError(err: unknown, timeoutMs: number): string {
  const e = asError(err);
  if (!e) return String(err);
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (e.name === 'AbortError') return 'aborted';
  const cause = asError(e.cause);
  if (cause) return `${e.message}: ${cause.code ?? cause.message}`;
  return e.message;
}

interface ErrorLike {
  name: string;
  message: string;
  code?: string;
  cause?: unknown;
}

function asError(v: unknown): ErrorLike | undefined {
  return typeof v === 'object' && v !== null && typeof (v as ErrorLike).message === 'string' ? (v as ErrorLike) : undefined;
}
