// The ceiling: a bare oidc-provider, none of our layers. The library's own
// in-memory adapter (an LRU of 1000 entries), static clients from the
// configuration, listening with provider.listen(); no Koa app of ours, no
// Prisma, no error envelope. Configured like src/oidc/configuration.ts where
// it matters for the measured requests: same routes, client_secret_basic,
// client credentials and introspection on, RFC 8707 resource indicators with
// the API as default resource and opaque access tokens, same TTLs, same
// introspection policy.
//
// Bench-only routes, as provider.use middleware (they run before the
// library's router):
//   GET /healthz            200 once listening
//   GET /bench/me           the reference for /api/me: a bare in-process
//                           provider.AccessToken.find(bearer) and a small JSON answer
//   GET /interaction/:uid   signs BENCH_ACCOUNT in and grants every requested
//                           scope at once (no pages, no password), then
//                           redirects back to the authorization endpoint
//
// Env: PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const apiResource = `${issuer}/api`;
const API_SCOPES = ['profile', 'buy', 'buy_history'];
const ACCOUNT = 'bench-account';

// Signing keys like ours: RS256 (the default ID token algorithm) and ES256.
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      client_name: 'bench',
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) =>
        oneOf ? (oneOf.includes(apiResource) ? apiResource : oneOf) : apiResource,
      getResourceServerInfo: async () => ({
        scope: API_SCOPES.join(' '),
        audience: apiResource,
        accessTokenFormat: 'opaque',
      }),
    },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      allowedPolicy: async (_ctx, client, token) =>
        client.grantTypes?.length === 0 || token.clientId === client.clientId,
    },
    revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
  },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: 'Bench', preferred_username: 'bench' }),
  }),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  jwks: {
    keys: [
      { ...rsa, alg: 'RS256', use: 'sig', kid: 'bench-rs' },
      { ...ec, alg: 'ES256', use: 'sig', kid: 'bench-es' },
    ],
  },
  pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
  ttl: {
    AccessToken: 864000,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    Grant: 1209600,
    IdToken: 3600,
    Interaction: 3600,
    RefreshToken: 1209600,
    Session: 1209600,
  },
  cookies: {
    keys: [randomBytes(32).toString('base64url')],
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', ...API_SCOPES],
  rotateRefreshToken: true,
  routes: {
    authorization: '/oauth/authorize',
    token: '/oauth/token',
    userinfo: '/oauth/userinfo',
    jwks: '/oauth/jwks',
    introspection: '/oauth/introspect',
    revocation: '/oauth/revoke',
    end_session: '/oauth/logout',
  },
});

provider.use(async (ctx, next) => {
  if (ctx.path === '/healthz') {
    ctx.body = { status: 'ok' };
    return;
  }
  if (ctx.path === '/bench/me') {
    const m = /^Bearer +(\S+)$/i.exec(ctx.get('authorization'));
    const token = m ? await provider.AccessToken.find(m[1]) : undefined;
    if (!token) {
      ctx.status = 401;
      ctx.body = { code: 40102, success: false, msg: 'invalid token', ts: Math.floor(Date.now() / 1000) };
      return;
    }
    ctx.body = { code: 0, success: true, sub: token.accountId, msg: '查詢成功', ts: Math.floor(Date.now() / 1000) };
    return;
  }
  if (ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    let result;
    if (details.prompt.name === 'login') {
      result = { login: { accountId: ACCOUNT } };
    } else {
      const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details;
      const accountId = details.session.accountId;
      const clientId = String(details.params.client_id);
      const grant =
        (details.grantId && (await provider.Grant.find(details.grantId))) ||
        new provider.Grant({ accountId, clientId });
      if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
      if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {}))
        grant.addResourceScope(indicator, scopes.join(' '));
      result = { consent: { grantId: await grant.save() } };
    }
    const location = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
    ctx.status = 303;
    ctx.set('location', location);
    ctx.body = '';
    return;
  }
  await next();
});

provider.listen(port, '127.0.0.1');
