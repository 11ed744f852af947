// Two answers where oidc-provider says `invalid_request` and RFC 6749 §5.2
// names a more exact code, which clients and test suites look for:
//  - no client authentication at all is `invalid_client` ("no client
//    authentication included"), at the token, introspection and revocation
//    endpoints alike (lib/shared/client_auth.js);
//  - a client using a grant type it is not registered for is
//    `unauthorized_client` (lib/actions/token.js).
// The status stays 400: the client sent no Authorization header, so §5.2's
// 401 + WWW-Authenticate does not apply. Matched on the library's exact
// descriptions; tests/negative-cases.test.ts fails if they ever change.
import type { Context, Next } from 'koa';

const RENAMES = new Map([
  ['no client authentication mechanism provided', 'invalid_client'],
  ['requested grant type is not allowed for this client', 'unauthorized_client'],
]);

export async function rfc6749ErrorCodes(ctx: Context, next: Next): Promise<void> {
  await next();
  const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
  if (ctx.status !== 400 || body?.error !== 'invalid_request' || typeof body.error_description !== 'string') return;
  const error = RENAMES.get(body.error_description);
  if (error) ctx.body = { ...body, error };
}
