// Security headers on every answer (helmet, through koa-helmet), and
// Cache-Control: no-store by default, since codes, tokens, sessions and
// personal data travel on most of our routes (RFC 6749 §5.1, RFC 9700).
import type { Context, Next } from 'koa';
import helmet from 'koa-helmet';
import { ROUTES } from '../routes.js';

// Public documents that anyone may cache; everything else is no-store.
const isPublic = (path: string) =>
  path.startsWith(ROUTES.staticPrefix) || path.startsWith(ROUTES.wellKnownPrefix) || path === ROUTES.oauth.jwks;

export function securityHeaders(issuer: string) {
  const https = issuer.startsWith('https:');
  const headers = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        // No inline script. The library adds the hash of its own form_post
        // script to this directive when it renders one (lib/helpers/script_src_sha.js).
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
        // No form-action: Chrome applies it to the redirects that follow a
        // form post, and ours end at each client's own redirect URI.
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    // HSTS only means something over TLS (behind a proxy: TRUST_PROXY and an https ISSUER).
    strictTransportSecurity: https ? { maxAge: 31536000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
    // Discovery, JWKS and the API are read from other origins (with CORS).
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });

  return async function secure(ctx: Context, next: Next): Promise<void> {
    if (!isPublic(ctx.path)) ctx.set('cache-control', 'no-store');
    return headers(ctx, next);
  };
}
