// Fastify answers requests that arrive while it closes (return503OnClosing)
// with a bare 503, without Retry-After, so a polite client cannot tell how
// long to back off, and the 503 breaks the "overload is 503 + Retry-After"
// contract. Fastify sets the raw response's headers before writing that 503,
// so a header put on the raw response first is sent with it: this sets
// Retry-After on every response that starts once closing has begun.
import type { FastifyInstance } from 'fastify';

export function retryAfterOnClose(fastify: FastifyInstance, seconds = 1): void {
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.server.prependListener('request', (_req, res) => {
    if (closing || !fastify.server.listening) res.setHeader('retry-after', String(seconds));
  });
}
