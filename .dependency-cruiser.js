// The layering rule of DESIGN §3 as an ALLOW-LIST, checked by `make test`
// (make arch). Each rule names one part of the house and everything that part
// may import; any other import is an error under that rule's name. A module
// outside the known parts fails `unknown-place`. test/layering.spec.ts plants
// one violation per rule in test/fixtures/layering and expects each to be
// reported by its rule, so a rule that is removed or loosened fails a test.
const path = require('node:path');

/** Node's own modules (node:fs, node:url, ...) are not project code or libraries. */
const CORE = ['core'];

/**
 * The files of app/ that build adapters (the composition root and its
 * helpers), plus the migrate command and the TypeORM CLI's data source. The
 * metrics files implement the observer hooks that the postgres and redis-cache
 * adapters declare, turning them into series.
 */
const COMPOSITION = [
  '^app/app[.]module[.]ts$',
  '^app/stores[.]ts$',
  '^app/cache[.]ts$',
  '^app/idempotency[.]ts$',
  '^app/webhooks[.]ts$',
  '^app/database[.]ts$',
  '^app/cmd/migrate[.]ts$',
  '^app/metrics/(store|cache)-metrics[.]ts$',
  '^migrations/data-source[.]ts$',
];

/** Each adapter's own libraries (their @types too); the other adapters may not use them. */
const ADAPTER_LIBRARIES = {
  postgres: ['typeorm', 'pg'],
  'redis-cache': ['ioredis'],
  'webhook-http': ['standardwebhooks'],
};
const libraryPath = (libs) => `(^|/)node_modules/(@types/)?(${libs.join('|')})/`;

/** @type {import('dependency-cruiser').IDependencyCruiserConfig} */
module.exports = {
  forbidden: [
    {
      name: 'models-import-only-models',
      comment: 'business/models is the innermost ring: other models and Node built-ins, nothing else',
      severity: 'error',
      from: { path: '^business/models/' },
      to: { pathNot: '^business/models/', dependencyTypesNot: CORE },
    },
    {
      name: 'ports-import-only-models',
      comment: 'business/ports declares what the core needs, in terms of models (and other ports)',
      severity: 'error',
      from: { path: '^business/ports/' },
      to: { pathNot: '^business/(models|ports)/', dependencyTypesNot: CORE },
    },
    {
      name: 'services-import-only-ports-and-models',
      comment:
        'business/services is plain TypeScript over ports and models: no adapter, no foundation, ' +
        'no library (Nest, Fastify, TypeORM, tracing)',
      severity: 'error',
      from: { path: '^business/services/' },
      to: { pathNot: '^business/(models|ports|services)/', dependencyTypesNot: CORE },
    },
    {
      name: 'adapter-imports-ports-models-foundation-itself',
      comment:
        'an adapter (business/adapters/<x>) implements ports with models, foundation, its own files ' +
        'and libraries; never another adapter, a service or app/',
      severity: 'error',
      from: { path: '^business/adapters/([^/]+)/' },
      to: {
        pathNot: ['^business/(models|ports)/', '^business/adapters/$1/', '^foundation/', '(^|/)node_modules/'],
        dependencyTypesNot: CORE,
      },
    },
    ...Object.entries(ADAPTER_LIBRARIES).map(([adapter, libs]) => ({
      name: `${adapter}-libraries-only-in-its-adapter`,
      comment: `${libs.join(' and ')} belong to business/adapters/${adapter}: no other part of business/ uses them`,
      severity: 'error',
      from: { path: '^business/', pathNot: `^business/adapters/${adapter}/` },
      to: { path: libraryPath(libs) },
    })),
    {
      name: 'foundation-imports-nothing-of-the-project',
      comment: 'foundation/ is project-agnostic (it could be its own package): other foundation files and libraries only',
      severity: 'error',
      from: { path: '^foundation/' },
      to: { pathNot: ['^foundation/', '(^|/)node_modules/'], dependencyTypesNot: CORE },
    },
    {
      name: 'only-composition-imports-adapters',
      comment: `only the composition files import adapters: ${COMPOSITION.join(', ')}`,
      severity: 'error',
      from: { path: '^(app|migrations)/', pathNot: COMPOSITION },
      to: { path: '^business/adapters/' },
    },
    {
      name: 'nothing-imports-app',
      comment: 'app/ is the outer ring: business/, foundation/ and migrations/ never depend on it',
      severity: 'error',
      from: { path: '^(business|foundation|migrations)/' },
      to: { path: '^app/' },
    },
    {
      name: 'unknown-place',
      comment: 'every module lives in a known part of the house (DESIGN §3); a new part needs its own rule here',
      severity: 'error',
      from: {
        pathNot: [
          '^app/',
          '^business/(models|ports|services)/',
          '^business/adapters/[^/]+/',
          '^foundation/',
          '^migrations/',
          '(^|/)node_modules/',
        ],
      },
      to: {},
    },
    {
      name: 'production-code-uses-no-dev-dependency',
      comment:
        'the image installs dependencies only (npm ci --omit=dev); the event generator (app/cmd/create-events) is a tool',
      severity: 'error',
      from: { path: '^(app|business|foundation|migrations)/', pathNot: '^app/cmd/create-events' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'no-undeclared-library',
      comment: 'a library the code imports is declared in package.json (not borrowed from a dependency of a dependency)',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to nothing is a typo or a missing package',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment: 'a module nothing imports and that imports nothing is dead code (entry points always import something)',
      severity: 'error',
      from: {
        orphan: true,
        pathNot: ['(^|/)[.][^/]+[.](js|cjs|mjs|ts|json)$', '[.]d[.]ts$', '(^|/)tsconfig[.]json$', '[.](spec|int-spec)[.]ts$'],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    // Absolute, so that the layering test can cruise its fixture tree with this same file.
    tsConfig: { fileName: path.join(__dirname, 'tsconfig.json') },
    tsPreCompilationDeps: true,
    exclude: { path: '[.](spec|int-spec)[.]ts$' },
  },
};
