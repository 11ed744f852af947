// The library answers a wrong method or an unknown path under its routes with
// Koa's bare "Not Found" text. Clients of a JSON API deserve JSON: a 405 with
// the Allow header (RFC 9110 §15.5.6) for a known endpoint, a 404 otherwise,
// both in RFC 6749 §5.2's error shape. Registered with provider.use(), so it
// sees the library's own response. The library's router answers HEAD wherever
// it answers GET (lib/helpers/router.js), so Allow lists it there too. POST at
// the authorization and logout endpoints is answered before the library, by
// src/oidc/post-as-get-shim.ts. A person's browser on a page meant for people
// (the authorization and logout endpoints, an unknown path) gets a page instead.
import type { Context, Next } from 'koa';
import type { Configuration } from 'oidc-provider';
import { ROUTES } from '../routes.js';
import type { PageForPeople } from '../errors/handler.js';

type Routes = NonNullable<Configuration['routes']>;

export function unmatchedRoutes(routes: Routes, registration: boolean, page: PageForPeople = () => false) {
  const r = routes as Required<Routes>;
  const cors = ['OPTIONS'];
  const table = new Map<string, string[]>([
    [ROUTES.openidConfiguration, ['GET', ...cors]],
    [r.authorization, ['GET', 'POST']],
    [r.token, ['POST', ...cors]],
    [r.userinfo, ['GET', 'POST', ...cors]],
    [r.jwks, ['GET', ...cors]],
    [r.introspection, ['POST', ...cors]],
    [r.revocation, ['POST', ...cors]],
    [r.pushed_authorization_request, ['POST', ...cors]],
    [r.end_session, ['GET', 'POST']],
    [`${r.end_session}/confirm`, ['POST']],
    [`${r.end_session}/success`, ['GET']],
    ...(registration ? ([[r.registration, ['POST']]] as [string, string[]][]) : []),
  ]);
  const dynamic: [RegExp, string[]][] = [
    [new RegExp(`^${r.authorization}/[^/]+$`), ['GET']],
    ...(registration
      ? ([[new RegExp(`^${r.registration}/[^/]+$`), ['GET', 'PUT', 'DELETE']]] as [RegExp, string[]][])
      : []),
  ];

  const withHead = (methods: string[]) =>
    methods.includes('GET') ? ['GET', 'HEAD', ...methods.filter((m) => m !== 'GET')] : methods;
  const allowedFor = (path: string) => {
    const trimmed = path.length > 1 ? path.replace(/\/$/, '') : path;
    const methods = table.get(trimmed) ?? dynamic.find(([re]) => re.test(trimmed))?.[1];
    return methods && withHead(methods);
  };

  return async function answerUnmatched(ctx: Context, next: Next): Promise<void> {
    await next();
    if (ctx.status !== 404 || (ctx.body !== undefined && ctx.body !== null)) return;
    const allowed = allowedFor(ctx.path);
    ctx.set('cache-control', 'no-store');
    if (allowed && !allowed.includes(ctx.method)) {
      ctx.set('allow', allowed.join(', '));
      if (page(ctx, 405)) return;
      ctx.status = 405;
      ctx.body = { error: 'invalid_request', error_description: `method not allowed; allowed: ${allowed.join(', ')}` };
    } else {
      if (page(ctx, 404)) return;
      ctx.status = 404;
      ctx.body = { error: 'invalid_request', error_description: 'unknown endpoint' };
    }
  };
}
