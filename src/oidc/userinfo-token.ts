// Which authorization requests want an access token for UserInfo rather than
// for the API: read by the provider's `resourceIndicators.defaultResource`
// (src/oidc/configuration.ts).
import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * An authorization request (or its resumption after sign-in) for an access
 * token from the authorization endpoint, with `openid` and no `resource`.
 */
export function wantsUserinfoTokenFromAuthorization(ctx: KoaContextWithOIDC): boolean {
  const params = ctx.oidc.params ?? {};
  const words = (value: unknown) => (typeof value === 'string' ? value.split(' ') : []);
  return (
    words(params.response_type).includes('token') &&
    words(params.scope).includes('openid') &&
    params.resource === undefined
  );
}
