// The OpenAPI 3.1 document, generated from the handlers at start.
//
// Why @nestjs/swagger (the Nest 11 line) rather than @fastify/swagger: the
// routes are Nest controllers, which @nestjs/swagger reads as they are (paths,
// methods, path parameters, from the same decorators that route requests), so
// the document cannot list a route that does not exist or miss one. Fastify's
// plugin reads Fastify route schemas, which Nest routes do not carry; giving
// them some would also turn on Fastify's own validation and serialisation,
// with its own error shapes. Each route's contract is declared once, on its
// handler, with @ApiRoute (api-route.decorator.ts); bodies are the JSON
// Schemas of schemas.ts; who may call a route comes from the access table
// (app/auth/route-access.ts), so 401/403 and `security` follow it.
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Access, RouteAccess } from '../auth/route-access';
import { errorResponse } from './api-route.decorator';
import { SCHEMAS } from './schemas';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

const DESCRIPTION = `Tells whether an email domain is a catch-all domain, from the delivered and bounced events of a mail platform.

A domain with any bounce is \`not catch-all\`; with no bounce and more than CATCHALL_THRESHOLD (default 1000) deliveries it is \`catch-all\`; anything else is \`unknown\`. The status only moves forward: unknown → catch-all → not catch-all.

**Authentication.** When the service runs with API_KEYS, every route but the open ones (health, this document, /docs) needs \`Authorization: Bearer <key>\`: writes a \`write\` key, reads a \`read\` or \`write\` key; /metrics a read key unless METRICS_PUBLIC. Without a key: 401 with WWW-Authenticate; with a key of too small a scope: 403. Without API_KEYS (development, AUTH=none) nothing needs a key.

**Errors** are JSON: \`{"statusCode":400,"error":"Bad Request","message":"…"}\`, never a stack trace.`;

export function buildOpenApiDocument(app: INestApplication, metricsPublic: boolean, version: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('catchall')
    .setDescription(DESCRIPTION)
    .setVersion(version)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS (name:scope:secret): send the secret.' }, 'apiKey')
    .build();
  const document = SwaggerModule.createDocument(app, config, { operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}` });
  document.components = { ...document.components, schemas: { ...SCHEMAS } as never };
  document.paths[OPENAPI_PATH] = { get: documentOperation() };
  document.paths[DOCS_PATH] = { get: docsOperation() };
  const access = new RouteAccess(metricsPublic);
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method];
      if (!operation) continue;
      secure(operation as Operation, access.of(method.toUpperCase(), toFastifyRoute(path)));
    }
  }
  return document;
}

type Operation = { security?: Array<Record<string, string[]>>; responses: Record<string, unknown>; description?: string };

function secure(operation: Operation, access: Access): void {
  if (access === 'open') {
    operation.security = [];
    return;
  }
  operation.security = [{ apiKey: [] }];
  const scope = access === 'write' ? 'a `write` key' : 'a `read` or `write` key';
  operation.description = `${operation.description ? `${operation.description}\n\n` : ''}Needs ${scope} when API_KEYS is set.`;
  operation.responses['401'] = {
    ...errorResponse(401, 'No API key (or an unknown one) while API_KEYS is set.'),
    headers: { 'WWW-Authenticate': { description: 'Bearer challenge (RFC 6750).', schema: { type: 'string' } } },
  };
  // Every key may read, so only a write route can find a key's scope too small.
  if (access === 'write') {
    operation.responses['403'] = {
      ...errorResponse(403, `The key's scope is too small: this route needs ${scope}.`),
      headers: { 'WWW-Authenticate': { description: 'Bearer challenge with error="insufficient_scope".', schema: { type: 'string' } } },
    };
  }
  for (const r of Object.values(operation.responses) as Array<{ status?: number }>) delete r.status;
}

/** `/domains/{domain}` as Fastify (and the access table) write it: `/domains/:domain`. */
function toFastifyRoute(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}

function documentOperation() {
  return {
    operationId: 'OpenApi_document',
    tags: ['Documentation'],
    summary: 'This OpenAPI 3.1 document',
    responses: {
      200: { description: 'The document.', content: { 'application/json': { schema: { type: 'object', required: ['openapi', 'paths'] } } } },
    },
  };
}

function docsOperation() {
  return {
    operationId: 'OpenApi_page',
    tags: ['Documentation'],
    summary: 'The interactive page (Swagger UI) for this document',
    description: 'Swagger UI from the swagger-ui-dist package, served by the service itself (no CDN).',
    responses: { 200: { description: 'The HTML page.', content: { 'text/html': { schema: { type: 'string' } } } } },
  };
}
