// Authentication as a Fastify onRequest hook (cheaper than a Nest guard: it runs
// before body parsing and Nest's pipeline, so a refused request costs nothing
// more). 401 + WWW-Authenticate without a valid key, 403 for a key without the
// route's scope (RFC 6750 error codes). Secrets never leave this file.
import type { FastifyInstance } from 'fastify';
import { ApiKey, ApiKeyVerifier, bearerToken } from '../../foundation/http/api-keys';
import { errorAnswer } from '../../foundation/http/http-error';
import type { Scope } from '../config';
import { AuthMetrics } from './auth-metrics';
import { setCallerKey } from './caller';
import { RouteAccess, scopeAllows } from './route-access';

const REALM = 'Bearer realm="catchall"';

export function installAuth(
  fastify: FastifyInstance,
  keys: readonly ApiKey<Scope>[],
  opts: { metricsPublic: boolean; metrics: AuthMetrics },
): void {
  const verifier = new ApiKeyVerifier(keys);
  const routes = new RouteAccess(opts.metricsPublic);
  fastify.addHook('onRequest', (request, reply, done) => {
    const access = routes.of(request.method, request.routeOptions.url);
    if (access === 'open') return done();
    const token = bearerToken(request.headers.authorization);
    const key = token === undefined ? undefined : verifier.verify(token);
    if (!key) {
      opts.metrics.refused(401);
      const challenge = token === undefined ? REALM : `${REALM}, error="invalid_token"`;
      const answer = errorAnswer(401, 'this route needs an API key: send Authorization: Bearer <key>');
      void reply.code(401).header('www-authenticate', challenge).send(answer.body);
      return;
    }
    if (!scopeAllows(key.scope, access)) {
      opts.metrics.refused(403, key.name);
      const answer = errorAnswer(403, `the key "${key.name}" has scope ${key.scope}; this route needs a ${access} key`);
      void reply
        .code(403)
        .header('www-authenticate', `${REALM}, error="insufficient_scope", scope="${access}"`)
        .send(answer.body);
      return;
    }
    setCallerKey(request, key.name);
    opts.metrics.admitted(key.name);
    done();
  });
}
