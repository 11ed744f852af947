// RFC 6750 bearer-token check for the resource API. Accepts a token when the
// provider says it is active, it belongs to a user, it is meant for this API
// (audience API_RESOURCE), or it is this server's own UserInfo token (no
// audience: an OpenID Connect client's token, see README "Tokens for the
// API"), and it carries the endpoint's scope.
import type { Context, Next } from 'koa';
import type { ApiScope } from '../oidc/scopes.js';
import { ApiError } from './errors.js';
import type { TokenInfo, TokenVerifier } from './token-verifier.js';

export interface TokenState {
  token: TokenInfo & { sub: string };
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export function bearerToken(ctx: Context): string {
  const header = ctx.get('authorization');
  // No credentials at all, or another scheme: a bare challenge (RFC 6750 §3.1).
  if (!header || !/^Bearer(\s|$)/i.test(header)) throw new ApiError('token_missing', 'an access token is required');
  const match = BEARER.exec(header);
  // RFC 6750 §3.1: a malformed request is invalid_request (400), not a bad token.
  if (!match?.[1] || match[1].length > 4096) throw new ApiError('invalid_request', 'malformed Authorization header');
  return match[1];
}

export function audienceAccepted(aud: TokenInfo['aud'], apiResource: string): boolean {
  if (aud === undefined) return true;
  return Array.isArray(aud) ? aud.includes(apiResource) : aud === apiResource;
}

/** `endpoint` ("GET /api/me") names the endpoint in the answer when the token is a client's own. */
export function requireToken(verifier: TokenVerifier, apiResource: string, scope: ApiScope, endpoint: string) {
  return async function checkToken(ctx: Context, next: Next): Promise<void> {
    const info = await verifier.verify(bearerToken(ctx));
    if (!info) throw new ApiError('invalid_token', 'access token is invalid, expired or revoked');
    if (!audienceAccepted(info.aud, apiResource))
      throw new ApiError('invalid_token', 'access token is not meant for this API');
    // A valid token, but a client's own: no scope would make it a user's, so
    // this is invalid_token ("invalid for other reasons", RFC 6750 §3.1) and
    // not insufficient_scope, which would send the client after more scope.
    if (!info.sub)
      throw new ApiError(
        'invalid_token',
        `this token was issued to a client, not a user (client_credentials); ${endpoint} needs a token a user authorized`,
      );
    if (!info.scopes.has(scope))
      throw new ApiError('insufficient_scope', `this endpoint needs the ${scope} scope`, scope);
    (ctx.state as TokenState).token = { ...info, sub: info.sub };
    await next();
  };
}
