// Is this bearer token good for our API, and whose is it? Two ways to ask the
// provider, same answer:
//  - in-process, when the API runs beside the provider: one statement reads
//    the token's row with its grant, its session and its account
//    (src/db/queries/token-checks.ts), and the library's own rules judge
//    them as AccessToken.find and its UserInfo endpoint would (token valid,
//    session still holding it when it expires with the session, grant still
//    there for the same client and account) — no HTTP round trip, no cache;
//  - over RFC 7662 introspection, when the API is a process of its own, with
//    its own client credentials and a short, bounded cache.
// Either way only plain bearer tokens: a token bound to a key (DPoP, RFC 9449;
// a certificate, RFC 8705) is good only with a proof of that key, which this
// API does not check, so it must refuse it (RFC 9449 §7.1), not take it as Bearer.
import type Provider from 'oidc-provider';
import type { AdapterPayload } from 'oidc-provider';
import type { ProviderHolder } from '../oidc/provider-holder.js';
import { payloadOf } from '../oidc/adapter.js';
import type { Config } from '../config/index.js';
import type { PublicAccount } from '../db/queries/accounts.js';
import type { StoredArtifact, TokenCheckQueries } from '../db/queries/token-checks.js';

export interface TokenInfo {
  sub?: string;
  clientId: string;
  scopes: Set<string>;
  aud?: string | string[];
  /** Epoch seconds. */
  exp: number;
  /**
   * The token's account when the check read it along the way (in-process);
   * null when it read it and it is gone; absent when it did not read it.
   */
  account?: PublicAccount | null;
}

export interface TokenVerifier {
  /** The token's details when it is active; undefined when not. */
  verify(token: string): Promise<TokenInfo | undefined>;
}

// What BaseModel.find (oidc-provider lib/models/base_model.js) runs on what
// the adapter returned: verify() (format, exp/iat/nbf with the clock
// tolerance) and instantiate() (kind check). Neither is in the library's
// type definitions.
interface Judged<T> {
  verify(stored: AdapterPayload): Promise<AdapterPayload>;
  instantiate(payload: AdapterPayload): T;
}

async function judge<T>(model: unknown, row: StoredArtifact | undefined): Promise<T | undefined> {
  const payload = payloadOf(row);
  if (!payload) return undefined;
  const judged = model as Judged<T>;
  try {
    return judged.instantiate(await judged.verify(payload));
  } catch {
    return undefined;
  }
}

type AccessToken = InstanceType<Provider['AccessToken']>;

/** The access token's rows, judged; undefined when the library would not accept it. */
async function userToken(provider: Provider, checks: TokenCheckQueries, value: string) {
  const rows = await checks.accessToken(value);
  if (!rows) return undefined;
  const token = await judge<AccessToken>(provider.AccessToken, rows.token);
  if (!token?.exp || !token.clientId || token.isSenderConstrained()) return undefined;
  // AccessToken.find's session binding (lib/models/token_helpers.js checkSessionBinding).
  if (token.expiresWithSession) {
    const session = await judge<InstanceType<Provider['Session']>>(provider.Session, rows.session);
    if (!session || session.accountId !== token.accountId || session.grantIdFor(token.clientId) !== token.grantId)
      return undefined;
  }
  // The UserInfo endpoint's grant check (lib/shared/access_token.js loadAccessTokenGrant).
  const grant = await judge<InstanceType<Provider['Grant']>>(provider.Grant, rows.grant);
  if (!grant || grant.clientId !== token.clientId || grant.accountId !== token.accountId) return undefined;
  return { token: token as AccessToken & { exp: number; clientId: string }, account: rows.account ?? null };
}

export function inProcessVerifier(holder: ProviderHolder, checks: TokenCheckQueries): TokenVerifier {
  return {
    async verify(value) {
      const provider = holder.current;
      const found = await userToken(provider, checks, value);
      if (found) {
        const { token, account } = found;
        return {
          sub: token.accountId,
          clientId: token.clientId,
          scopes: token.scopes,
          aud: token.aud,
          exp: token.exp,
          account,
        };
      }
      // The library keeps client credentials tokens (RFC 6749 §4.4) apart
      // from access tokens. They have no user and no grant; they are looked
      // up only so that the API can say that this is what it was given
      // (introspection reports them the same way: active, no sub).
      const own = await provider.ClientCredentials.find(value);
      if (!own?.exp || !own.clientId || own.isSenderConstrained()) return undefined;
      return { clientId: own.clientId, scopes: own.scopes, aud: own.aud, exp: own.exp };
    },
  };
}

export interface IntrospectionOptions {
  endpoint: string;
  clientId: string;
  clientSecret: string;
  /** Seconds an answer may be reused; bounds how late a revocation takes effect here. */
  cacheTtl: number;
  maxEntries: number;
  timeoutMs?: number;
}

export class IntrospectionUnavailable extends Error {
  readonly code = 'INTROSPECTION_UNAVAILABLE';
}

export function introspectionVerifier(opts: IntrospectionOptions): TokenVerifier {
  // Map keeps insertion order: the first key is the oldest, evicted first.
  const cache = new Map<string, { info: TokenInfo | undefined; until: number }>();
  const auth = `Basic ${Buffer.from(`${encodeURIComponent(opts.clientId)}:${encodeURIComponent(opts.clientSecret)}`).toString('base64')}`;

  async function introspect(token: string): Promise<TokenInfo | undefined> {
    let res: Response;
    try {
      res = await fetch(opts.endpoint, {
        method: 'POST',
        headers: {
          authorization: auth,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
      });
    } catch (cause) {
      throw new IntrospectionUnavailable('introspection endpoint unreachable', { cause });
    }
    if (!res.ok) throw new IntrospectionUnavailable(`introspection answered ${res.status}`);
    let body: Record<string, unknown>;
    try {
      body = (await res.json()) as Record<string, unknown>;
    } catch (cause) {
      throw new IntrospectionUnavailable('introspection answered something other than JSON', { cause });
    }
    if (
      body.active !== true ||
      body.token_type !== 'Bearer' ||
      body.cnf !== undefined ||
      typeof body.exp !== 'number' ||
      typeof body.client_id !== 'string'
    ) {
      return undefined;
    }
    return {
      sub: typeof body.sub === 'string' ? body.sub : undefined,
      clientId: body.client_id,
      scopes: new Set(typeof body.scope === 'string' ? body.scope.split(' ') : []),
      aud: typeof body.aud === 'string' || Array.isArray(body.aud) ? (body.aud as string | string[]) : undefined,
      exp: body.exp,
    };
  }

  return {
    async verify(token) {
      const now = Date.now();
      const hit = cache.get(token);
      if (hit && hit.until > now) return hit.info;
      cache.delete(token);
      const info = await introspect(token);
      // Never cache past the token's own expiry.
      const until = Math.min(now + opts.cacheTtl * 1000, info ? info.exp * 1000 : Infinity);
      if (opts.cacheTtl > 0) {
        // Full: the oldest entry goes (a Map iterates in insertion order).
        const oldest = cache.size >= opts.maxEntries ? cache.keys().next() : undefined;
        if (oldest && !oldest.done) cache.delete(oldest.value);
        cache.set(token, { info, until });
      }
      return info;
    },
  };
}

/** The verifier the settings ask for; the provider and the token checks are only needed in-process. */
export function verifierFor(
  config: Config,
  inProcess?: { provider: ProviderHolder; checks: TokenCheckQueries },
  mode = config.api.mode,
): TokenVerifier {
  if (mode === 'in-process') {
    if (!inProcess) throw new Error('in-process token checks need the provider in the same process');
    return inProcessVerifier(inProcess.provider, inProcess.checks);
  }
  const { endpoint, clientId, clientSecret, cacheTtl } = config.api.introspection;
  if (!clientId || !clientSecret) {
    throw new Error(
      'introspection needs INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET (npm run --silent client:create -- --name api --resource-server)',
    );
  }
  return introspectionVerifier({ endpoint, clientId, clientSecret, cacheTtl, maxEntries: 10_000 });
}
