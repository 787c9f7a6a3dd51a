// @ApiRoute: the one place where a route's contract is declared, on its handler:
// summary, parameters, headers, body, the answer and the errors it can give.
// It turns that into @nestjs/swagger metadata; @nestjs/swagger adds the path,
// method and path parameters it reads from the handler itself. A new route
// (GET /stats, say) gets its document by one @ApiRoute({...}) beside @Get().
import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import { ref } from './schemas';

type Schema = Record<string, unknown>;

interface ParameterDoc {
  name: string;
  in: 'query' | 'header' | 'path';
  description: string;
  required?: boolean;
  schema: Schema;
  example?: unknown;
}

interface AnswerDoc {
  description: string;
  /** Media type → schema (and an example when the schema has none). */
  content?: Record<string, { schema: Schema; example?: unknown }>;
  headers?: Record<string, { description: string; schema: Schema }>;
}

export interface RouteDoc {
  tag: string;
  summary: string;
  description?: string;
  parameters?: ParameterDoc[];
  body?: { description?: string; required?: boolean; content: Record<string, { schema: Schema; example?: unknown }> };
  /** The success answers by status. */
  ok: Record<number, AnswerDoc>;
  /** The error statuses this route answers itself (401/403 come from the access table, see document.ts). */
  errors: Array<keyof typeof ERROR_DOCS>;
  /** A batch route's 400 lists the bad items (BatchError). */
  batch?: boolean;
  /** A health check: 503 answers the health shape (a check is down), not an Error. */
  unavailable?: boolean;
}

const RETRY_AFTER = { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } };

/** What each error status means in this API (DESIGN §2). Every one answers the Error shape. */
const ERROR_DOCS = {
  400: { description: 'Bad input: the message names the problem; nothing was changed.' },
  404: { description: 'No such route.' },
  408: { description: 'The request was not received in time.' },
  409: { description: 'A request with the same Idempotency-Key is still being applied; retry after Retry-After.', headers: { 'Retry-After': RETRY_AFTER } },
  413: { description: 'The body is larger than BODY_LIMIT_BYTES, or the batch holds more than MAX_BATCH_EVENTS events.' },
  415: { description: 'Content-Type is neither application/json nor application/x-ndjson.' },
  422: { description: 'The Idempotency-Key was used before with another body.' },
  429: {
    description: "Over the API key's event rate (RATE_LIMIT_*). Nothing was counted.",
    headers: {
      'Retry-After': RETRY_AFTER,
      RateLimit: { description: 'IETF draft RateLimit: `"<policy>";r=<remaining>;t=<seconds to reset>`.', schema: { type: 'string' } },
      'RateLimit-Policy': { description: 'IETF draft RateLimit-Policy: `"<policy>";q=<quota>;w=<window seconds>`.', schema: { type: 'string' } },
    },
  },
  503: {
    description: 'Overloaded, shutting down, or the store is unreachable: retry after Retry-After. An event answered 503 may or may not be counted.',
    headers: { 'Retry-After': RETRY_AFTER },
  },
} as const;

export function errorResponse(status: number, description: string, headers?: AnswerDoc['headers'], schema: Schema = ref('Error')) {
  return {
    status,
    description,
    headers,
    content: {
      'application/json': {
        schema,
        example: { statusCode: status, error: STATUS_CODES[status], message: description },
      },
    },
  };
}

export function ApiRoute(doc: RouteDoc): MethodDecorator {
  const decorators: Array<MethodDecorator | ClassDecorator> = [
    ApiOperation({
      summary: doc.summary,
      description: doc.description,
      tags: [doc.tag],
      requestBody: doc.body ? { required: doc.body.required ?? true, ...doc.body } : undefined,
    }),
  ];
  // Parameters through their own decorators: @nestjs/swagger replaces an operation's `parameters` with what it reads from the handler.
  for (const { in: where, ...p } of doc.parameters ?? []) {
    if (where === 'query') decorators.push(ApiQuery({ ...p, required: p.required ?? false }));
    else if (where === 'header') decorators.push(ApiHeader({ ...p, required: p.required ?? false }));
    else decorators.push(ApiParam({ ...p, required: true }));
  }
  for (const [status, answer] of Object.entries(doc.ok)) {
    decorators.push(ApiResponse({ status: Number(status), description: answer.description, content: answer.content, headers: answer.headers }));
  }
  for (const status of doc.errors) {
    const e = ERROR_DOCS[status] as { description: string; headers?: AnswerDoc['headers'] };
    const schema = status === 400 && doc.batch ? { anyOf: [ref('BatchError'), ref('Error')] } : ref('Error');
    decorators.push(ApiResponse(errorResponse(status, e.description, e.headers, schema)));
  }
  if (doc.unavailable) {
    decorators.push(ApiResponse({ status: 503, description: 'A check is down (the same shape, status "error").', content: json(ref('Health')) }));
  }
  return applyDecorators(...decorators);
}

export function json(schema: Schema, example?: unknown) {
  return { 'application/json': example === undefined ? { schema } : { schema, example } };
}
