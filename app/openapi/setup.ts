// Serves the OpenAPI document at GET /openapi.json and Swagger UI at GET /docs.
//
// The page and its assets come from the swagger-ui-dist package, served by the
// service itself: no CDN, so the page works offline and under a strict CSP.
// Only a fixed list of files is served (read once, on first use), not a
// folder: @fastify/static would do it, but its current line needs an ESM-only
// dependency that jest cannot load without --experimental-vm-modules, and
// four fixed files do not need a static-file server.
//
// The API's own CSP lets nothing load (foundation/http/security-headers.ts);
// the docs routes get one that lets the page load its own scripts, styles and
// images, and nothing from anywhere else.
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { errorAnswer } from '../../foundation/http/http-error';
import { DOCS_PATH, OPENAPI_PATH, buildOpenApiDocument } from './document';

/**
 * Swagger UI's icons are data: SVGs, hence `img-src data:`; it sets styles
 * through the DOM, which CSP allows, so no 'unsafe-inline' anywhere
 * (test/docs-page.int-spec.ts drives the page in Chromium and fails on any violation).
 */
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/** The files the page needs, by the name it asks for. */
const ASSETS: Record<string, { type: string; file?: string; text?: string }> = {
  'swagger-ui.css': { type: 'text/css; charset=utf-8', file: 'swagger-ui.css' },
  'swagger-ui-bundle.js': { type: 'application/javascript; charset=utf-8', file: 'swagger-ui-bundle.js' },
  'favicon-32x32.png': { type: 'image/png', file: 'favicon-32x32.png' },
  // A file, not an inline script, so the CSP needs no 'unsafe-inline' for scripts.
  'init.js': {
    type: 'application/javascript; charset=utf-8',
    text: `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '${OPENAPI_PATH}',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    validatorUrl: null,
  });
};
`,
  },
};

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>catchall API</title>
  <link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
  <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
  <script src="${DOCS_PATH}/init.js"></script>
</body>
</html>
`;

export function serveOpenApi(app: NestFastifyApplication, metricsPublic: boolean, version: string): void {
  const document = JSON.stringify(buildOpenApiDocument(app, metricsPublic, version));
  const fastify = app.getHttpAdapter().getInstance();
  const loaded = new Map<string, Buffer | string>();

  fastify.get(OPENAPI_PATH, (_request, reply) => {
    void reply.header('content-type', 'application/json; charset=utf-8').send(document);
  });
  fastify.get(DOCS_PATH, (_request, reply) => {
    void reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', DOCS_CSP).send(PAGE);
  });
  fastify.get<{ Params: { file: string } }>(`${DOCS_PATH}/:file`, (request, reply) => {
    const name = request.params.file;
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) {
      const answer = errorAnswer(404, `no such file under ${DOCS_PATH}`);
      void reply.code(404).send(answer.body);
      return;
    }
    let body = loaded.get(name);
    if (body === undefined) {
      body = asset.text ?? readFileSync(path.join(SWAGGER_UI_DIR, asset.file as string));
      loaded.set(name, body);
    }
    // The assets change only with the package: let a browser keep them for a day.
    void reply.header('content-type', asset.type).header('cache-control', 'public, max-age=86400').send(body);
  });
}
