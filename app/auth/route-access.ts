// Which key each route needs, declared in one place. A route not listed here
// needs a read key: a new route (/changes, /stats, /domains listing …) is
// closed until it is declared otherwise.
import type { Scope } from '../config';

/** open: anyone; read: a read or write key; write: a write key; metrics: read, or open with METRICS_PUBLIC. */
export type Access = 'open' | Scope | 'metrics';

const ROUTE_ACCESS: ReadonlyArray<[method: string, route: string, access: Access]> = [
  ['PUT', '/events/:domain/:type', 'write'],
  ['POST', '/events', 'write'],
  ['GET', '/domains', 'read'],
  ['GET', '/domains/export', 'read'],
  ['GET', '/domains/:domain', 'read'],
  ['POST', '/domains/lookup', 'read'],
  ['GET', '/changes', 'read'],
  ['GET', '/webhooks/failures', 'read'],
  ['GET', '/health', 'open'],
  ['GET', '/health/live', 'open'],
  ['GET', '/health/ready', 'open'],
  ['GET', '/metrics', 'metrics'],
  // The API document and its page (Swagger UI and its assets): public, like /health.
  ['GET', '/openapi.json', 'open'],
  ['GET', '/docs', 'open'],
  ['GET', '/docs/:file', 'open'],
  ['GET', '/debug/traces', 'metrics'],
];

const DEFAULT_ACCESS: Access = 'read';

export class RouteAccess {
  private readonly byRoute = new Map<string, Map<string, Access>>();

  constructor(metricsPublic: boolean, table = ROUTE_ACCESS) {
    for (const [method, route, access] of table) {
      const methods = this.byRoute.get(route) ?? new Map<string, Access>();
      methods.set(method, access === 'metrics' ? (metricsPublic ? 'open' : 'read') : access);
      this.byRoute.set(route, methods);
    }
  }

  /**
   * What a request to a route template needs. HEAD goes as GET; a request that
   * matched no route is open (it gets its 404 either way).
   */
  of(method: string, route: string | undefined): Access {
    if (route === undefined) return 'open';
    const access = this.byRoute.get(route)?.get(method === 'HEAD' ? 'GET' : method);
    return access ?? DEFAULT_ACCESS;
  }
}

/** A write key may also read. */
export function scopeAllows(scope: Scope, access: Access): boolean {
  return access === 'open' || scope === 'write' || scope === access;
}
