// Who is calling: the API key's name when authentication is on (set by the auth
// hook), else the client address. Rate limits are per caller; logs and metrics
// show the key name, never the secret and never an address as a label.
import type { FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';

export interface Caller {
  /** The key's name, or undefined when authentication is off. */
  key: string | undefined;
  /** What rate limits count by: the key's name, or the client address. */
  id: string;
}

type WithKey = IncomingMessage & { apiKey?: string };

export function setCallerKey(request: FastifyRequest, name: string): void {
  (request.raw as WithKey).apiKey = name;
}

/** The key name on a raw request (for log lines). */
export function callerKeyOf(req: IncomingMessage): string | undefined {
  return (req as WithKey).apiKey;
}

export function callerOf(request: FastifyRequest): Caller {
  const key = callerKeyOf(request.raw);
  return { key, id: key ?? `ip:${request.ip}` };
}
