// The layering rules of DESIGN §3, checked by `make test` (make arch).
/** @type {import('dependency-cruiser').IDependencyCruiserConfig} */
module.exports = {
  forbidden: [
    {
      name: 'foundation-is-standalone',
      comment: 'foundation/ is reusable and project-agnostic: it imports nothing of the project',
      severity: 'error',
      from: { path: '^foundation/' },
      to: { path: '^(app|business|migrations|test)/' },
    },
    {
      name: 'business-never-imports-app',
      comment: 'the business core never depends on entry points or wiring',
      severity: 'error',
      from: { path: '^business/' },
      to: { path: '^(app|migrations|test)/' },
    },
    {
      name: 'core-imports-no-adapter',
      comment: 'models, ports and services never import an adapter',
      severity: 'error',
      from: { path: '^business/(models|ports|services)/' },
      to: { path: '^business/adapters/' },
    },
    {
      name: 'core-imports-no-foundation',
      comment: 'models, ports and services are plain TypeScript: no foundation, no frameworks',
      severity: 'error',
      from: { path: '^business/(models|ports|services)/' },
      to: { path: '^foundation/' },
    },
    {
      name: 'models-import-only-models',
      comment: 'models are the innermost ring',
      severity: 'error',
      from: { path: '^business/models/' },
      to: { path: '^business/(ports|services|adapters)/' },
    },
    {
      name: 'ports-import-only-models',
      severity: 'error',
      from: { path: '^business/ports/' },
      to: { path: '^business/(services|adapters)/' },
    },
    {
      name: 'core-uses-no-framework',
      comment: 'no Nest, Fastify, TypeORM, pg, ioredis or telemetry inside business/ outside its adapters',
      severity: 'error',
      from: { path: '^business/(models|ports|services)/' },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
      },
    },
    {
      name: 'adapters-use-only-their-own-framework',
      comment: 'TypeORM and pg belong to the postgres adapter, ioredis to the redis cache adapter',
      severity: 'error',
      from: { path: '^business/adapters/(?!postgres/)' },
      to: { path: 'node_modules/(typeorm|pg|@nestjs/typeorm)/' },
    },
    {
      name: 'redis-only-in-its-adapter',
      severity: 'error',
      from: { path: '^business/adapters/(?!redis-cache/)' },
      to: { path: 'node_modules/ioredis/' },
    },
    {
      name: 'no-nest-or-fastify-in-business',
      severity: 'error',
      from: { path: '^business/' },
      to: { path: 'node_modules/(@nestjs|fastify|@fastify)/' },
    },
    {
      name: 'adapters-do-not-import-each-other',
      severity: 'error',
      from: { path: '^business/adapters/([^/]+)/' },
      to: { path: '^business/adapters/', pathNot: '^business/adapters/$1/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '\\.(spec|int-spec)\\.ts$' },
  },
};
