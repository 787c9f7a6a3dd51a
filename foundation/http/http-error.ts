// One JSON error shape for every failure: {"statusCode","error","message",…}.
// Unknown errors become a plain 500 whose details stay in the log, never in
// the response.
import { STATUS_CODES } from 'node:http';

interface HttpErrorBody {
  statusCode: number;
  error: string;
  message: string;
  [extra: string]: unknown;
}

export interface HttpErrorAnswer {
  status: number;
  body: HttpErrorBody;
  headers?: Record<string, string>;
}

/** Maps an application's own errors to answers; returns undefined for errors it does not know. */
export type ErrorMapper = (err: unknown) => HttpErrorAnswer | undefined;

export function errorAnswer(status: number, message: string, extra: Record<string, unknown> = {}): HttpErrorAnswer {
  return { status, body: { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, ...extra } };
}

/** Fastify's own errors (body too large, bad JSON, bad media type) carry a 4xx statusCode and a code. */
export function fromFrameworkError(err: unknown): HttpErrorAnswer | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof e.statusCode !== 'number' || e.statusCode < 400 || e.statusCode > 499) return undefined;
  const code = typeof e.code === 'string' ? e.code : '';
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errorAnswer(413, 'request body is larger than the limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errorAnswer(415, 'unsupported Content-Type: send application/json or application/x-ndjson');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errorAnswer(400, 'request body is empty but Content-Type is application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errorAnswer(400, 'request body is not valid JSON');
    default:
      if (err instanceof SyntaxError) return errorAnswer(400, 'request body is not valid JSON');
      return errorAnswer(e.statusCode, typeof e.message === 'string' ? e.message : 'bad request');
  }
}
