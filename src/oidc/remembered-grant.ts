// The `loadExistingGrant` option: which grant an authorization request uses.
//
// One grant per authorization, never one per (account, client): the library
// revokes a whole grant when one of its refresh tokens is revoked (RFC 7009
// §2.1) or a used one is presented again (RFC 9700 §4.14.2, reuse detection),
// so a grant shared by every session would sign a person out everywhere when
// one app instance signs out. Consent is still remembered (src/consents/
// consents.ts): a new grant is filled from what was allowed before.
//
// The library's default (lib/helpers/defaults.js) reuses the session's grant
// for the client; this never does. Called from lib/actions/authorization/
// session.js `loadGrant`, once a session has an account; a grant returned
// here becomes the session's grant for the client and the grant of the code.
import type { Grant, KoaContextWithOIDC } from 'oidc-provider';
import type { Consents, Consented } from '../consents/consents.js';

export function loadExistingGrant(consents: Consents) {
  return async (ctx: KoaContextWithOIDC): Promise<Grant | undefined> => {
    const { client, session, result, provider, entities } = ctx.oidc;
    const accountId = session?.accountId;
    if (!client || !accountId) return undefined;

    // The library throws a plain Error (a 500) on a grant of another account
    // or client; the account can change at a login prompt, so check first.
    const ours = async (grantId: string | undefined) => {
      const grant = grantId ? await provider.Grant.find(grantId) : undefined;
      return grant && grant.accountId === accountId && grant.clientId === client.clientId ? grant : undefined;
    };

    // 1. This authorization has just been through the consent page.
    const consented = await ours(result?.consent?.grantId);
    if (consented) return consented;

    // 2. This authorization is resuming after another prompt (login, say) and
    // was given a grant before it (step 3): keep it rather than leave it orphaned.
    const resumed = await ours(entities.Interaction?.grantId);
    if (resumed) return resumed;

    // 3. A new grant, holding what was allowed before and this request asks for.
    // 4. Or, with nothing of that remembered, none: the library makes an
    // empty grant and its consent prompt asks for everything.
    const remembered = await consents.find(accountId, client.clientId);
    if (!remembered) return undefined;
    const grant = new provider.Grant({ accountId, clientId: client.clientId });
    if (!fill(grant, remembered, ctx)) return undefined;
    await grant.save();
    return grant;
  };
}

/** Adds to the grant the remembered consent this request asks for; false when that is nothing. */
function fill(grant: Grant, remembered: Consented, ctx: KoaContextWithOIDC): boolean {
  const { requestParamOIDCScopes, requestParamClaims, requestParamScopes, resourceServers = {} } = ctx.oidc;
  let any = false;

  const scopes = remembered.scopes.filter((s) => requestParamOIDCScopes.has(s));
  if (scopes.length) {
    grant.addOIDCScope(scopes);
    any = true;
  }
  const claims = remembered.claims.filter((c) => requestParamClaims.has(c));
  if (claims.length) {
    grant.addOIDCClaims(claims);
    any = true;
  }
  // RFC 8707: only the resources this request names (or the default one), and
  // only scopes that resource still offers the client.
  for (const [indicator, server] of Object.entries(resourceServers)) {
    const offered = new Set(server.scopes);
    const allowed = (remembered.resourceScopes[indicator] ?? []).filter(
      (s) => requestParamScopes.has(s) && offered.has(s),
    );
    if (allowed.length) {
      grant.addResourceScope(indicator, allowed);
      any = true;
    }
  }
  return any;
}
