// The steps of the "try the code flow" page after the authorization
// response: what each one sends, when it can be taken, and what it changes
// in the flow kept in the console session. Requests go to the issuer's real
// endpoints, as any client's would.
import { createHash, randomBytes } from 'node:crypto';
import type { ClientMetadata } from 'oidc-provider';
import { ROUTES } from '../routes.js';
import { checkIdToken, type IdTokenCheck } from './try-flow-id-token.js';
import { type ClientAuth, type DescribedRequest, type RawResponse, send, toCurl } from './try-flow-request.js';

export const STEPS = ['token', 'userinfo', 'me', 'orders', 'buy', 'introspect', 'refresh', 'revoke'] as const;
export type Step = (typeof STEPS)[number];

export const isStep = (name: string): name is Step => (STEPS as readonly string[]).includes(name);

/** One step taken: the command it equals, and what came back. */
export interface StepRecord {
  step: Step;
  at: string;
  curl: string;
  response: Omit<RawResponse, 'text'> & { text?: string };
  idToken?: IdTokenCheck;
  /** Refresh: whether a new refresh token replaced the one sent (RFC 9700 §4.14.2). */
  rotated?: boolean;
}

/** The flow being tried, kept in the console session (session.data.tryFlow); never in a URL or a page's form. */
export interface TryFlow {
  clientId: string;
  redirectUri: string;
  scope: string;
  prompt?: 'consent';
  state: string;
  nonce: string;
  codeVerifier: string;
  /** The authorization response, once it came back with a matching state. */
  received?: { code?: string; iss?: string; error?: string; errorDescription?: string };
  codeUsed?: boolean;
  tokens: { access_token?: string; refresh_token?: string; id_token?: string; scope?: string };
  /** The next purchase, decided ahead so the page can show its exact command before it is sent. */
  nextBuy: { itemId: string; txId: string; buyAt: string };
  records: StepRecord[];
}

// A flow's page stays readable and its session row small.
const MAX_RECORDS = 30;

const random = () => randomBytes(32).toString('base64url');

/** RFC 7636 §4.2: code_challenge = BASE64URL(SHA256(code_verifier)). */
export const codeChallenge = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

// The seed's first item, until the catalog (GET /api/items, public) names its own first one.
const SEED_ITEM = 'ITEM_001';

/** A new purchase of the item: tx_id is the client's idempotency key, so a fresh one each time (README, "The resource API"). */
function nextBuy(itemId: string): TryFlow['nextBuy'] {
  const now = new Date();
  const digits = now.toISOString().replace(/\D/g, '').slice(0, 17);
  return {
    itemId,
    txId: `${digits}${randomBytes(3).readUIntBE(0, 3).toString().padStart(8, '0')}`,
    buyAt: `${now.toISOString().slice(0, 19)}Z`,
  };
}

/** The catalog's first item, as any client would find it. */
async function firstItem(issuer: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${issuer}${ROUTES.apiItems}`, { headers: { accept: 'application/json' } });
    const body = (await res.json()) as { items?: { item_id?: unknown }[] };
    const id = body.items?.[0]?.item_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

export function newFlow(clientId: string, redirectUri: string, scopes: string[]): TryFlow {
  return {
    clientId,
    redirectUri,
    scope: scopes.join(' '),
    // OIDC Core §11: offline_access (a refresh token) is granted only with an explicit consent.
    ...(scopes.includes('offline_access') ? { prompt: 'consent' as const } : {}),
    state: random(),
    nonce: random(),
    // RFC 7636 §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~]; 32 random bytes make 43.
    codeVerifier: random(),
    tokens: {},
    nextBuy: nextBuy(SEED_ITEM),
    records: [],
  };
}

/** The authorization request's parameters, in the order the page explains them. */
export function authorizationParams(flow: TryFlow): [string, string][] {
  const openid = flow.scope.split(' ').includes('openid');
  return [
    ['response_type', 'code'],
    ['client_id', flow.clientId],
    ['redirect_uri', flow.redirectUri],
    ['scope', flow.scope],
    ['state', flow.state],
    ...(openid ? ([['nonce', flow.nonce]] as [string, string][]) : []),
    ['code_challenge', codeChallenge(flow.codeVerifier)],
    ['code_challenge_method', 'S256'],
    ...(flow.prompt ? ([['prompt', flow.prompt]] as [string, string][]) : []),
  ];
}

export function authorizationUrl(issuer: string, flow: TryFlow): string {
  return `${issuer}${ROUTES.oauth.authorization}?${new URLSearchParams(authorizationParams(flow))}`;
}

const clientAuth = (client: ClientMetadata): ClientAuth => {
  const method = client.token_endpoint_auth_method;
  return {
    method: method === 'none' || method === 'client_secret_post' ? method : 'client_secret_basic',
    clientId: client.client_id,
  };
};

/** What the step would send now, or undefined when it cannot be taken yet. */
export function describeStep(
  step: Step,
  flow: TryFlow,
  client: ClientMetadata,
  issuer: string,
): DescribedRequest | undefined {
  const { access_token: access, refresh_token: refresh } = flow.tokens;
  const at = (path: string) => `${issuer}${path}`;
  switch (step) {
    case 'token':
      if (!flow.received?.code || flow.codeUsed) return undefined;
      return {
        method: 'POST',
        url: at(ROUTES.oauth.token),
        client: clientAuth(client),
        form: [
          ['grant_type', 'authorization_code'],
          ['code', flow.received.code],
          ['redirect_uri', flow.redirectUri],
          ['code_verifier', flow.codeVerifier],
        ],
      };
    case 'userinfo':
      if (!access || !grantedScopes(flow).includes('openid')) return undefined;
      return { method: 'GET', url: at(ROUTES.oauth.userinfo), bearer: access };
    case 'me':
      return access ? { method: 'GET', url: at(ROUTES.apiMe), bearer: access } : undefined;
    case 'orders':
      return access ? { method: 'GET', url: at(`${ROUTES.apiOrders}?limit=5`), bearer: access } : undefined;
    case 'buy':
      if (!access) return undefined;
      return {
        method: 'POST',
        url: at(ROUTES.apiBuy),
        bearer: access,
        json: { item_id: flow.nextBuy.itemId, tx_id: flow.nextBuy.txId, buy_at: flow.nextBuy.buyAt },
      };
    case 'introspect':
      if (!access) return undefined;
      return {
        method: 'POST',
        url: at(ROUTES.oauth.introspection),
        client: clientAuth(client),
        form: [
          ['token', access],
          ['token_type_hint', 'access_token'],
        ],
      };
    case 'refresh':
      if (!refresh) return undefined;
      return {
        method: 'POST',
        url: at(ROUTES.oauth.token),
        client: clientAuth(client),
        form: [
          ['grant_type', 'refresh_token'],
          ['refresh_token', refresh],
        ],
      };
    case 'revoke':
      if (!access) return undefined;
      return {
        method: 'POST',
        url: at(ROUTES.oauth.revocation),
        client: clientAuth(client),
        form: [
          ['token', access],
          ['token_type_hint', 'access_token'],
        ],
      };
  }
}

/** The scopes granted, as the last token response said (RFC 6749 §5.1), else as asked. */
export function grantedScopes(flow: TryFlow): string[] {
  return (flow.tokens.scope ?? flow.scope).split(' ');
}

/** The curl command of every step that can be taken now. */
export function previews(flow: TryFlow, client: ClientMetadata, issuer: string): { step: Step; curl: string }[] {
  return STEPS.flatMap((step) => {
    const req = describeStep(step, flow, client, issuer);
    return req ? [{ step, curl: toCurl(req) }] : [];
  });
}

/** Takes the step from the server, records it in the flow, and keeps what it returned for the next ones. */
export async function takeStep(
  step: Step,
  flow: TryFlow,
  client: ClientMetadata,
  issuer: string,
): Promise<StepRecord | undefined> {
  const req = describeStep(step, flow, client, issuer);
  if (!req) return undefined;
  const { text, ...response } = await send(
    req,
    typeof client.client_secret === 'string' ? client.client_secret : undefined,
  );
  const record: StepRecord = {
    step,
    at: new Date().toISOString(),
    curl: toCurl(req),
    response: response.json === undefined ? { ...response, text: text.slice(0, 4000) } : response,
  };
  if (step === 'token') flow.codeUsed = true; // RFC 6749 §4.1.2: works once, whatever the answer
  if (step === 'buy') flow.nextBuy = nextBuy(flow.nextBuy.itemId);
  const body = response.json as Record<string, unknown> | undefined;
  if ((step === 'token' || step === 'refresh') && response.status === 200 && body) {
    const previous = flow.tokens.refresh_token;
    flow.tokens = {
      access_token: str(body.access_token),
      refresh_token: str(body.refresh_token) ?? (step === 'refresh' ? previous : undefined),
      id_token: str(body.id_token),
      scope: str(body.scope),
    };
    if (step === 'token') flow.nextBuy = nextBuy((await firstItem(issuer)) ?? flow.nextBuy.itemId);
    if (step === 'refresh') record.rotated = body.refresh_token !== undefined && body.refresh_token !== previous;
    const idToken = str(body.id_token);
    if (idToken) {
      record.idToken = await checkIdToken(idToken, {
        issuer,
        jwksUri: `${issuer}${ROUTES.oauth.jwks}`,
        clientId: client.client_id,
        nonce: flow.nonce,
        nonceRequired: step === 'token',
      });
    }
  }
  flow.records = [...flow.records, record].slice(-MAX_RECORDS);
  return record;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
