// Throttles client authentication at the endpoints where a client proves
// itself with a secret (token, introspection, revocation, PAR): a (client,
// IP) pair (HTTP Basic) or an IP (any method) past its limit of failures is
// refused with 429 and Retry-After before the library checks anything. Registered with
// provider.use(), so it sees the library's own invalid_client answers.
import type { Context, Next } from 'koa';
import type { Throttle } from './throttle.js';

export function clientAuthThrottle(throttle: Throttle, paths: Set<string>) {
  // The client id of HTTP Basic credentials (RFC 6749 §2.3.1: form-encoded, then base64).
  const basicClientId = (ctx: Context): string | undefined => {
    const encoded = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(ctx.get('authorization'))?.[1];
    if (!encoded) return undefined;
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    try {
      return colon > 0 ? decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')) : undefined;
    } catch {
      return undefined;
    }
  };

  return async function throttleClientAuth(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || !paths.has(ctx.path)) return next();
    const headerClientId = basicClientId(ctx);
    const wait = await throttle.clientAuthWait(headerClientId, ctx.ip);
    if (wait > 0) {
      ctx.status = 429;
      ctx.set('retry-after', String(wait));
      ctx.set('cache-control', 'no-store');
      ctx.body = {
        error: 'invalid_client',
        error_description: `too many failed client authentications; retry in ${wait} seconds`,
      };
      return;
    }
    await next();
    const body = ctx.body as { error?: string } | undefined;
    if (body?.error === 'invalid_client') await throttle.clientAuthFailed(headerClientId, ctx.ip);
  };
}
