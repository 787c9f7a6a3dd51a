// The webhook-sender port: one signed POST of one message to one endpoint. The
// deliverer decides what to send and when to retry; the adapter
// (business/adapters/webhook-http) signs (Standard Webhooks) and sends.

/** One message as the endpoint receives it. */
export interface WebhookMessage {
  /** The webhook-id header: the same on every attempt of one change to one endpoint. */
  id: string;
  /** The JSON body, already serialised (it is what gets signed). */
  body: string;
}

export type SendOutcome = { ok: true; status: number } | { ok: false; error: string };

export abstract class WebhookSender {
  /** POSTs `message` to `url`; never rejects: a non-2xx answer, a timeout or a network error is `ok: false`. */
  abstract send(url: string, message: WebhookMessage, signal: AbortSignal): Promise<SendOutcome>;
}
