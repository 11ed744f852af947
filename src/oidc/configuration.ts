// The oidc-provider configuration, option by option in the order of the
// library's docs (docs/README.md, "Configuration options"). Only options we
// change from the defaults appear, each with the reason.
import { errors, type Configuration } from 'oidc-provider';
import type { Config } from '../config/index.js';
import type { Accounts } from '../accounts/accounts.js';
import type { Consents } from '../consents/consents.js';
import type { Views } from '../web/views.js';
import type { ClientStore } from '../clients/store.js';
import { ROUTES, interactionPath } from '../routes.js';
import { API_SCOPES, SCOPES } from './scopes.js';
import { findAccount } from './find-account.js';
import { loadExistingGrant } from './remembered-grant.js';
import { offeredResponseTypes } from '../config/response-types.js';
import { wantsUserinfoTokenFromAuthorization } from './userinfo-token.js';

export interface ConfigurationDeps {
  config: Config;
  accounts: Accounts;
  consents: Consents;
  views: Views;
  adapter: NonNullable<Configuration['adapter']>;
  clients: ClientStore;
  jwks: NonNullable<Configuration['jwks']>;
  cookieKeys: string[];
}

export function buildConfiguration({
  config,
  accounts,
  consents,
  views,
  adapter,
  clients,
  jwks,
  cookieKeys,
}: ConfigurationDeps): Configuration {
  const apiScopes = API_SCOPES.join(' ');

  return {
    adapter,

    // The claims our accounts can back, grouped by the scope that releases them.
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },

    // Browsers may call the CORS-enabled endpoints (token, userinfo, ...) from
    // the origin of one of the client's redirect URIs, and only for public
    // clients or UserInfo: a confidential client's secret never belongs in a
    // browser. (The library's default rule, written out: it logs a notice
    // whenever its default is used.)
    clientBasedCORS: (ctx, origin, client) =>
      origin !== 'null' &&
      (ctx.oidc.route === 'userinfo' || client.clientAuthMethod === 'none') &&
      (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),

    // Clients live in the database (created by the CLI or the console), never in code.
    clients: [],

    features: {
      // Our own views replace the library's development-only ones.
      devInteractions: { enabled: false },

      // RFC 8707. Our API is a resource server: a token meant for it carries
      // its audience and only its scopes. A client that names no resource
      // (the seed's flow) gets the API by default; see README, "Tokens for the API".
      resourceIndicators: {
        enabled: true,
        // The API is the only resource there is, so it is also the one to pick
        // when a grant holds several (it cannot: getResourceServerInfo refuses others).
        // One exception, only reachable with IMPLICIT_AND_HYBRID: an OpenID
        // Connect request for a `token` response type names no resource, so
        // its access token is for UserInfo (Core §3.2.2.5, §5.3), as the code
        // exchange's is (README, "Tokens for the API"); with the API as its
        // audience the library would refuse it there.
        defaultResource: async (ctx) => (wantsUserinfoTokenFromAuthorization(ctx) ? undefined : config.apiResource),
        getResourceServerInfo: async (_ctx, resource, client) => {
          if (resource !== config.apiResource) throw new errors.InvalidTarget();
          // A client registered with a `scope` may only get those of the API's scopes.
          const registered = client.scope?.split(' ');
          const allowed = registered ? API_SCOPES.filter((s) => registered.includes(s)).join(' ') : apiScopes;
          return {
            scope: allowed,
            audience: config.apiResource,
            accessTokenFormat: 'opaque',
          };
        },
      },

      claimsParameter: { enabled: true },
      clientCredentials: { enabled: true },

      // RFC 7662. A client may introspect its own tokens; a resource server
      // (created with `client:create --resource-server`, which dynamic
      // registration cannot do) may introspect any. Anything else answers {active:false}.
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) =>
          token.clientId === client.clientId || (await clients.isResourceServer(client.clientId)),
      },

      // RFC 7591 / 7592, off unless configured, and then only with the initial access token.
      registration: {
        enabled: config.registration.enabled,
        initialAccessToken: config.registration.initialAccessToken ?? false,
      },
      registrationManagement: { enabled: config.registration.enabled, rotateRegistrationAccessToken: true },

      // RFC 7009 §2.1: a client revokes only its own tokens. Another client's
      // token is refused; a public client (which proves nothing) gets the
      // 200 of an unknown token instead, so it cannot probe tokens. (The
      // library's default rule, written out for the same reason as above.)
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => {
          if (token.clientId === client.clientId) return true;
          if (client.clientAuthMethod === 'none') return false;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        },
      },

      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => views.logout(ctx, form),
        postLogoutSuccessSource: async (ctx) => views.logoutSuccess(ctx),
      },
    },

    findAccount: (_ctx, sub) => findAccount(accounts, sub),

    interactions: {
      url: (_ctx, interaction) => interactionPath(interaction.uid),
    },

    jwks,

    // RFC 7636 / RFC 9700: S256 only (the library offers nothing else);
    // required for public clients, optional for confidential ones, whose
    // secret already binds the code (the seed's flow sends no PKCE).
    pkce: {
      required: (_ctx, client) => client.clientAuthMethod === 'none',
    },

    ttl: {
      AccessToken: config.ttl.accessToken,
      AuthorizationCode: config.ttl.authorizationCode,
      // Machine tokens are short-lived; a client can always get another.
      ClientCredentials: config.ttl.clientCredentials,
      Grant: config.ttl.grant,
      IdToken: config.ttl.idToken,
      Interaction: config.ttl.interaction,
      RefreshToken: config.ttl.refreshToken,
      Session: config.ttl.session,
    },

    // SameSite=Lax, the library's default, written out because it is a
    // decision: it is why `enableHttpPostMethods` (which demands
    // SameSite=None, and so Secure, impossible over plain HTTP) stays off;
    // POST at the authorization and logout endpoints is src/oidc/post-as-get-shim.ts.
    // The library adds Secure by itself when the request is https.
    cookies: {
      keys: cookieKeys,
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },

    // OpenID Connect's scopes and our API's. The API's are also resource
    // server scopes (above); listing them here too makes them part of the
    // grant's OpenID scope, so the UserInfo token an OpenID Connect client
    // gets carries them and works at /api as well (README, "Tokens for the API").
    // It also lets a client's registered `scope` restrict them.
    scopes: [...SCOPES],

    discovery: {
      ui_locales_supported: ['en', 'zh-TW'],
    },

    // One grant per authorization, filled from remembered consent, so that
    // revocation and refresh-token reuse detection end one authorization's
    // tokens, not the account's at this client (src/oidc/remembered-grant.ts).
    loadExistingGrant: loadExistingGrant(consents),

    renderError: async (ctx, out) => views.error(ctx, out),

    // The authorization code flow only (OAuth 2.1 §4.1 drops the implicit
    // grant; RFC 9700 §2.1.2 says not to use it; OpenID Connect's hybrid
    // types put an ID token in the front channel for no gain once PKCE binds
    // the code). The library's default also offers `code id_token` and
    // `id_token`, which return an ID token from the authorization endpoint,
    // and so advertises the `implicit` grant. `none` (OAuth 2.0 Multiple
    // Response Types §4) returns no token and would be harmless, but nothing
    // here uses it and none of the conformance plans the library is certified
    // with (Basic, Implicit, Hybrid, Dynamic) asks for it, so it is not
    // offered either: every value listed is a promise to clients.
    //
    // IMPLICIT_AND_HYBRID=true adds OpenID Connect Core's implicit (§3.2) and
    // hybrid (§3.3) response types, for the conformance plans that test them.
    // (`token` alone, OAuth 2.0's implicit grant, the library never offers.)
    // (The lists: src/config/response-types.ts.)
    responseTypes: offeredResponseTypes(config),

    // RFC 9700 §4.14.2: every use of a refresh token rotates it; presenting a
    // used one again revokes its grant (reuse detection): one authorization's
    // tokens, since each has a grant of its own (loadExistingGrant above).
    rotateRefreshToken: true,

    routes: ROUTES.oauth,
  };
}
