// The JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of every body the API
// answers or takes, with examples. Routes refer to them by name
// (#/components/schemas/<Name>) through @ApiRoute (api-route.decorator.ts);
// test/openapi.int-spec.ts checks real answers against them.
import { DEFAULT_LIST_LIMIT, LIST_STATUSES, MAX_LIST_LIMIT } from '../handlers/domains-query';

type Schema = Record<string, unknown>;

const count = { type: 'integer', minimum: 0 } as const;

export const SCHEMAS: Record<string, Schema> = {
  DomainStatus: {
    type: 'string',
    enum: [...LIST_STATUSES],
    description:
      '`not catch-all`: bounced >= 1; `catch-all`: no bounce and delivered > CATCHALL_THRESHOLD (default 1000); `unknown`: anything else, including a domain never seen.',
  },
  DomainReport: {
    type: 'object',
    description: 'A domain and its counts. The name is normalised: lower case, no trailing dot, IDN as punycode.',
    required: ['domain', 'status', 'delivered', 'bounced'],
    additionalProperties: false,
    properties: {
      domain: { type: 'string', examples: ['example.com'] },
      status: { $ref: '#/components/schemas/DomainStatus' },
      delivered: count,
      bounced: count,
    },
    examples: [{ domain: 'example.com', status: 'catch-all', delivered: 1200, bounced: 0 }],
  },
  DomainPage: {
    type: 'object',
    required: ['domains', 'next'],
    additionalProperties: false,
    properties: {
      domains: { type: 'array', items: { $ref: '#/components/schemas/DomainReport' }, maxItems: MAX_LIST_LIMIT },
      next: {
        type: ['string', 'null'],
        description: 'Pass as `cursor` for the next page; null on the last page. Opaque: do not build one.',
      },
    },
    examples: [
      {
        domains: [
          { domain: 'a.example', status: 'catch-all', delivered: 1500, bounced: 0 },
          { domain: 'b.example', status: 'catch-all', delivered: 1001, bounced: 0 },
        ],
        next: 'bjpiLmV4YW1wbGU',
      },
    ],
  },
  EventBatch: {
    type: 'object',
    required: ['events'],
    properties: {
      events: {
        type: 'array',
        items: {
          type: 'object',
          required: ['domain', 'type'],
          properties: { domain: { type: 'string' }, type: { type: 'string', enum: ['delivered', 'bounced'] } },
        },
      },
    },
    examples: [{ events: [{ domain: 'a.com', type: 'delivered' }, { domain: 'b.org', type: 'bounced' }] }],
  },
  Accepted: {
    type: 'object',
    required: ['accepted'],
    additionalProperties: false,
    properties: { accepted: count },
    examples: [{ accepted: 2 }],
  },
  LookupRequest: {
    type: 'object',
    required: ['domains'],
    properties: { domains: { type: 'array', items: { type: 'string' }, maxItems: 1000 } },
    examples: [{ domains: ['a.com', 'b.org'] }],
  },
  LookupResults: {
    type: 'object',
    required: ['results'],
    additionalProperties: false,
    properties: { results: { type: 'array', items: { $ref: '#/components/schemas/DomainReport' } } },
    examples: [{ results: [{ domain: 'a.com', status: 'unknown', delivered: 3, bounced: 0 }] }],
  },
  Change: {
    type: 'object',
    required: ['cursor', 'domain', 'from', 'to', 'delivered', 'bounced', 'at'],
    additionalProperties: false,
    properties: {
      cursor: { type: 'string', description: 'Resume after this change with `after=<cursor>`.' },
      domain: { type: 'string' },
      from: { $ref: '#/components/schemas/DomainStatus' },
      to: { $ref: '#/components/schemas/DomainStatus' },
      delivered: count,
      bounced: count,
      at: { type: 'string', format: 'date-time' },
    },
  },
  ChangesPage: {
    type: 'object',
    required: ['changes', 'next'],
    additionalProperties: false,
    properties: {
      changes: { type: 'array', items: { $ref: '#/components/schemas/Change' } },
      next: { type: 'string', description: 'Pass as `after` for the next call (the same cursor when nothing changed).' },
    },
    examples: [
      {
        changes: [{ cursor: 'MQ', domain: 'a.com', from: 'unknown', to: 'catch-all', delivered: 1001, bounced: 0, at: '2026-12-01T17:00:00.000Z' }],
        next: 'MQ',
      },
    ],
  },
  Stats: {
    type: 'object',
    description: 'Exact totals of the store, kept by the flushes (events still buffered on a node are not in them yet).',
    required: ['domains', 'events'],
    additionalProperties: false,
    properties: {
      domains: {
        type: 'object',
        required: ['unknown', 'catch-all', 'not catch-all'],
        additionalProperties: false,
        properties: {
          unknown: { type: 'integer', minimum: 0 },
          'catch-all': { type: 'integer', minimum: 0 },
          'not catch-all': { type: 'integer', minimum: 0 },
        },
      },
      events: {
        type: 'object',
        required: ['delivered', 'bounced'],
        additionalProperties: false,
        properties: { delivered: { type: 'integer', minimum: 0 }, bounced: { type: 'integer', minimum: 0 } },
      },
    },
    examples: [{ domains: { unknown: 812, 'catch-all': 97, 'not catch-all': 91 }, events: { delivered: 1254311, bounced: 2077 } }],
  },
  WebhookFailures: {
    type: 'object',
    required: ['failures'],
    additionalProperties: false,
    properties: {
      failures: {
        type: 'array',
        description: 'Parked deliveries (given up after WEBHOOK_MAX_ATTEMPTS), newest first.',
        items: {
          type: 'object',
          required: ['endpoint', 'webhookId', 'cursor', 'attempts', 'lastError', 'at'],
          additionalProperties: false,
          properties: {
            endpoint: { type: 'string', description: 'Short hash of the endpoint URL.' },
            url: { type: 'string', description: 'The URL without password or query string (when this node knows it).' },
            webhookId: { type: 'string', description: 'The webhook-id every attempt carried.' },
            cursor: { type: 'string', description: 'The change, as its feed cursor.' },
            attempts: { type: 'integer', minimum: 1 },
            lastError: { type: 'string' },
            at: { type: 'string', format: 'date-time' },
          },
        },
      },
    },
    examples: [
      {
        failures: [
          { endpoint: '3f9a2c1b', url: 'https://hooks.example.com/catchall', webhookId: 'msg_42_3f9a2c1b', cursor: 'NDI', attempts: 8, lastError: 'HTTP 500', at: '2026-12-01T17:00:00.000Z' },
        ],
      },
    ],
  },
  Health: {
    type: 'object',
    description: 'The @nestjs/terminus format: one entry per check under info (up), error (down) and details (all).',
    required: ['status'],
    properties: {
      status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
      info: { type: 'object', additionalProperties: { $ref: '#/components/schemas/HealthCheck' } },
      error: { type: 'object', additionalProperties: { $ref: '#/components/schemas/HealthCheck' } },
      details: { type: 'object', additionalProperties: { $ref: '#/components/schemas/HealthCheck' } },
    },
    examples: [{ status: 'ok', info: { store: { status: 'up', kind: 'postgres' } }, error: {}, details: { store: { status: 'up', kind: 'postgres' } } }],
  },
  HealthCheck: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
  },
  Error: {
    type: 'object',
    description: 'Every error: the status code, its reason phrase and a message that names the problem. Never a stack trace.',
    required: ['statusCode', 'error', 'message'],
    properties: {
      statusCode: { type: 'integer', minimum: 400, maximum: 599 },
      error: { type: 'string' },
      message: { type: 'string' },
    },
    examples: [{ statusCode: 400, error: 'Bad Request', message: 'invalid domain "not_valid.com": label "not_valid" has a character other than a-z, 0-9 and -' }],
  },
  BatchError: {
    description: 'A batch refused whole: how many items are invalid and the first of them with their index and reason.',
    allOf: [
      { $ref: '#/components/schemas/Error' },
      {
        type: 'object',
        required: ['invalid', 'errors'],
        properties: {
          invalid: count,
          errors: {
            type: 'array',
            items: { type: 'object', required: ['index', 'reason'], properties: { index: count, reason: { type: 'string' } } },
          },
        },
      },
    ],
    examples: [{ statusCode: 400, error: 'Bad Request', message: '1 of 2 events are invalid', invalid: 1, errors: [{ index: 1, reason: 'invalid event type "opened"' }] }],
  },
};

export const LIMIT_PARAMETER = { minimum: 1, maximum: MAX_LIST_LIMIT, default: DEFAULT_LIST_LIMIT };

export function ref(name: keyof typeof SCHEMAS & string): { $ref: string } {
  return { $ref: `#/components/schemas/${name}` };
}
