import { RouteAccess, scopeAllows } from './route-access';

describe('RouteAccess', () => {
  const closed = new RouteAccess(false);
  const open = new RouteAccess(true);

  it.each([
    ['PUT', '/events/:domain/:type', 'write'],
    ['POST', '/events', 'write'],
    ['GET', '/domains/:domain', 'read'],
    ['HEAD', '/domains/:domain', 'read'],
    ['POST', '/domains/lookup', 'read'],
    ['GET', '/health/ready', 'open'],
    ['GET', '/metrics', 'read'],
    ['GET', '/debug/traces', 'read'],
    ['GET', '/changes', 'read'], // a route not declared yet needs a key
    ['GET', '/domains', 'read'],
    ['GET', '/domains/export', 'read'],
    ['GET', '/openapi.json', 'open'],
    ['GET', '/docs', 'open'],
    ['GET', '/docs/:file', 'open'],
    ['GET', '/stats', 'read'],
    ['DELETE', '/events', 'read'],
  ])('%s %s needs %s', (method, route, access) => {
    expect(closed.of(method, route)).toBe(access);
  });

  it('opens metrics and the trace page with METRICS_PUBLIC', () => {
    expect(open.of('GET', '/metrics')).toBe('open');
    expect(open.of('GET', '/debug/traces')).toBe('open');
    expect(open.of('GET', '/domains/:domain')).toBe('read');
  });

  it('leaves unmatched requests to their 404', () => {
    expect(closed.of('GET', undefined)).toBe('open');
  });
});

describe('scopeAllows', () => {
  it('lets write do everything and read only read', () => {
    expect(scopeAllows('write', 'write')).toBe(true);
    expect(scopeAllows('write', 'read')).toBe(true);
    expect(scopeAllows('read', 'read')).toBe(true);
    expect(scopeAllows('read', 'write')).toBe(false);
    expect(scopeAllows('read', 'open')).toBe(true);
  });
});
