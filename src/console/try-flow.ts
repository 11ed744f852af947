// "Try the code flow" (issue 12, item 3): one of the account's clients goes
// through the authorization code flow with PKCE while the page explains
// each part. The page builds the authorization request, the console's own
// callback checks the response (state, RFC 9207 iss), and each later step
// is a button the server performs against the issuer's real endpoints,
// shown as the curl command that sends the same. Tokens, the code verifier
// and the flow's state live in the console session, never in a URL.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { ClientMetadata } from 'oidc-provider';
import type { Clients } from '../clients/clients.js';
import { SCOPES } from '../oidc/scopes.js';
import { ROUTES, consoleClientPath, consoleTryPath } from '../routes.js';
import { hasMessage, translator, type MessageKey, type Translate } from '../web/i18n.js';
import type { ConsoleKit } from './kit.js';
import type { Session } from './sessions.js';
import { IssuerUnreachable, SECRET_VAR } from './try-flow-request.js';
import {
  STEPS,
  authorizationParams,
  authorizationUrl,
  grantedScopes,
  isStep,
  newFlow,
  previews,
  takeStep,
  type Step,
  type StepRecord,
  type TryFlow,
} from './try-flow-steps.js';

export interface TryFlowDeps {
  kit: ConsoleKit;
  issuer: string;
  clients: Clients;
}

const RFC = (n: number, section: string) => `https://www.rfc-editor.org/rfc/rfc${n}#section-${section}`;
const OIDC = (anchor: string) => `https://openid.net/specs/openid-connect-core-1_0.html#${anchor}`;

/** Where each authorization request parameter is defined. */
const PARAM_SPEC: Record<string, string> = {
  response_type: RFC(6749, '4.1.1'),
  client_id: RFC(6749, '2.2'),
  redirect_uri: RFC(6749, '3.1.2'),
  scope: RFC(6749, '3.3'),
  state: RFC(6749, '10.12'),
  nonce: OIDC('AuthRequest'),
  code_challenge: RFC(7636, '4.2'),
  code_challenge_method: RFC(7636, '4.3'),
  prompt: OIDC('OfflineAccess'),
  code_verifier: RFC(7636, '4.1'),
};

/** Where each step's response is defined; each field of it is explained with this link. */
const STEP_SPEC: Record<Step, string> = {
  token: RFC(6749, '5.1'),
  userinfo: OIDC('UserInfoResponse'),
  me: `${RFC(6750, '2.1')}`,
  orders: `${RFC(6750, '2.1')}`,
  buy: `${RFC(6750, '2.1')}`,
  introspect: RFC(7662, '2.2'),
  refresh: RFC(6749, '6'),
  revoke: RFC(7009, '2.2'),
};

const FIELD_SPEC: Record<string, string> = {
  id_token: OIDC('TokenResponse'),
  refresh_token: RFC(6749, '1.5'),
  error: RFC(6749, '5.2'),
  error_description: RFC(6749, '5.2'),
};

/** A link's words: the spec and section it points to, e.g. "RFC 6749 §4.1.1", so each link says where it goes. */
function specName(href: string): string {
  const rfc = /rfc(\d+)#section-([\w.]+)/.exec(href);
  if (rfc) return `RFC ${rfc[1]} §${rfc[2]}`;
  const oidc = /openid-connect-core-1_0\.html#(\w+)/.exec(href);
  return oidc ? `OpenID Connect Core, ${oidc[1]}` : href;
}

const CLAIM_SPEC = OIDC('IDToken');
const HEADER_SPEC = RFC(7515, '4.1');

const DEFAULT_SCOPES = ['openid', 'profile', 'buy', 'buy_history', 'offline_access'];

export function tryFlowRoutes(deps: TryFlowDeps): Router {
  const { kit, clients, issuer } = deps;
  const { page, problem, form, requireSignIn, requireCsrf, signedIn, sessions, views } = kit;
  const router = new Router();
  const callback = `${issuer}${ROUTES.consoleCallback}`;
  const tryPath = `${ROUTES.consoleClients}/:id${ROUTES.consoleTry}`;

  // A client that is not the account's is answered exactly as one that does not exist.
  const owned = (ctx: Context, id: string) => kit.ownClient(ctx, id);

  const flowOf = (session: Session, clientId: string): TryFlow | undefined => {
    const flow = session.data.tryFlow as TryFlow | undefined;
    return flow?.clientId === clientId ? flow : undefined;
  };

  const save = async (session: Session, flow: TryFlow) => {
    session.data.tryFlow = flow;
    await sessions.save(session);
  };

  router.get(tryPath, requireSignIn, async (ctx) => {
    const client = await owned(ctx, ctx.params.id ?? '');
    if (!client) return;
    const { session } = signedIn(ctx);
    let flow = flowOf(session, client.client_id);
    if (!flow) {
      flow = newFlow(client.client_id, callback, defaultScopes(client));
      await save(session, flow);
    }
    const t = translator(views.locale(ctx));
    page(ctx, 'console/try', 'try.title', { ...viewModel(t, client, flow), specName });
  });

  // A new authorization request, with the scopes ticked: a new state, nonce and verifier.
  router.post(tryPath, requireSignIn, form, requireCsrf, async (ctx) => {
    const client = await owned(ctx, ctx.params.id ?? '');
    if (!client) return;
    const body = ctx.request.body as Record<string, unknown>;
    const asked = ([] as unknown[]).concat(body.scope ?? []).filter((s): s is string => typeof s === 'string');
    const allowed = allowedScopes(client);
    const scopes = allowed.filter((s) => asked.includes(s));
    await save(signedIn(ctx).session, newFlow(client.client_id, callback, scopes.length ? scopes : ['openid']));
    ctx.status = 303;
    ctx.redirect(consoleTryPath(client.client_id));
  });

  // Registers the console's callback as one more redirect URI of the client, keeping the others.
  router.post(`${tryPath}/redirect-uri`, requireSignIn, form, requireCsrf, async (ctx) => {
    const client = await owned(ctx, ctx.params.id ?? '');
    if (!client) return;
    const uris = client.redirect_uris ?? [];
    if (!uris.includes(callback)) {
      await clients.update(signedIn(ctx).account.id, client.client_id, {
        name: client.client_name ?? client.client_id,
        clientUri: client.client_uri,
        redirectUris: [...uris, callback],
        postLogoutRedirectUris: [...(client.post_logout_redirect_uris ?? [])],
        scope: client.scope,
      });
    }
    ctx.status = 303;
    ctx.redirect(consoleTryPath(client.client_id));
  });

  router.post(`${tryPath}/:step`, requireSignIn, form, requireCsrf, async (ctx) => {
    const step = ctx.params.step ?? '';
    if (!isStep(step)) return problem(ctx, 404, 'console.notFound');
    const client = await owned(ctx, ctx.params.id ?? '');
    if (!client) return;
    const { session } = signedIn(ctx);
    const flow = flowOf(session, client.client_id);
    if (!flow) return problem(ctx, 409, 'try.stepUnavailable');
    let taken: StepRecord | undefined;
    try {
      taken = await takeStep(step, flow, client, issuer);
    } catch (err) {
      // The issuer's own URL did not answer this server (a proxy or DNS between them): say so, not 500.
      if (!(err instanceof IssuerUnreachable)) throw err;
      ctx.app.emit('error', err, ctx);
      return problem(ctx, 502, 'try.unreachable');
    }
    if (!taken) return problem(ctx, 409, 'try.stepUnavailable');
    await save(session, flow);
    ctx.status = 303;
    ctx.redirect(`${consoleTryPath(client.client_id)}#record-${flow.records.length}`);
  });

  // The authorization response (RFC 6749 §4.1.2). Nothing is exchanged
  // unless it answers this browser's own request: state must match the
  // session's (§10.12, CSRF) and iss must be this issuer (RFC 9207 §2.4, mix-up).
  router.get(ROUTES.consoleCallback, requireSignIn, async (ctx) => {
    const { session } = signedIn(ctx);
    const flow = session.data.tryFlow as TryFlow | undefined;
    const state = ctx.query.state;
    if (!flow || flow.received || typeof state !== 'string' || state !== flow.state) {
      return problem(ctx, 400, 'try.callback.stateMismatch');
    }
    if (ctx.query.iss !== issuer) return problem(ctx, 400, 'try.callback.issMismatch');
    const client = await owned(ctx, flow.clientId);
    if (!client) return;
    const { code, error, error_description: description } = ctx.query;
    flow.received =
      typeof code === 'string'
        ? { code, iss: issuer }
        : {
            iss: issuer,
            error: typeof error === 'string' ? error : 'invalid_request',
            ...(typeof description === 'string' ? { errorDescription: description } : {}),
          };
    await save(session, flow);
    ctx.status = 303;
    ctx.redirect(`${consoleTryPath(client.client_id)}#response`);
  });

  function viewModel(t: Translate, client: ClientMetadata, flow: TryFlow) {
    const explain = (prefix: string, name: string) => {
      const key = `${prefix}.${name}`;
      return hasMessage(key) ? t(key) : t('try.field.unknown');
    };
    const params = [...authorizationParams(flow), ['code_verifier', flow.codeVerifier] as [string, string]].map(
      ([name, value]) => ({ name, value, explanation: explain('try.param', name), href: PARAM_SPEC[name] }),
    );
    const granted = grantedScopes(flow);
    return {
      client: {
        id: client.client_id,
        name: client.client_name ?? client.client_id,
        public: client.token_endpoint_auth_method === 'none',
        authMethod: client.token_endpoint_auth_method ?? 'client_secret_basic',
        page: consoleClientPath(client.client_id),
      },
      action: (name?: string) => consoleTryPath(client.client_id, name),
      secretVar: SECRET_VAR,
      callback,
      registered: (client.redirect_uris ?? []).includes(callback),
      scopes: allowedScopes(client).map((name) => ({
        name,
        checked: flow.scope.split(' ').includes(name),
        explanation: explain('scope', name),
      })),
      refreshPossible: (client.grant_types ?? []).includes('refresh_token'),
      offlineAllowed: allowedScopes(client).includes('offline_access'),
      params,
      url: authorizationUrl(issuer, flow),
      received: flow.received && {
        ...flow.received,
        state: flow.state,
        errorExplanation: flow.received.error ? explain('error', flow.received.error) : undefined,
      },
      records: flow.records.map((r, i) => recordView(t, r, i + 1, explain)),
      next: previews(flow, client, issuer).map((p) => ({
        ...p,
        title: t(`try.step.${p.step}`),
        lead: t(`try.step.${p.step}.lead`),
      })),
      granted: granted.join(' '),
      done: !STEPS.some((s) => s !== 'token' && previews(flow, client, issuer).some((p) => p.step === s)),
    };
  }

  function recordView(t: Translate, r: StepRecord, n: number, explain: (prefix: string, name: string) => string) {
    const body = r.response.json;
    const fields =
      body && typeof body === 'object' && !Array.isArray(body)
        ? Object.keys(body).map((name) => ({
            name,
            explanation: explain('try.field', name),
            href: FIELD_SPEC[name] ?? STEP_SPEC[r.step],
          }))
        : [];
    const idToken = r.idToken && {
      valid: r.idToken.valid,
      error: r.idToken.error,
      header: JSON.stringify(r.idToken.header, null, 2),
      payload: JSON.stringify(r.idToken.payload, null, 2),
      headerFields: Object.keys(r.idToken.header).map((name) => ({
        name,
        explanation: explain('try.header', name),
        href: HEADER_SPEC,
      })),
      claims: Object.entries(r.idToken.payload).map(([name, value]) => ({
        name,
        value: name === 'exp' || name === 'iat' || name === 'auth_time' ? time(value) : undefined,
        explanation: explain('try.claim', name),
        href: CLAIM_SPEC,
      })),
      checks: r.idToken.checks.map((c) => ({ ...c, label: t(`try.check.${c.name}` as MessageKey) })),
    };
    return {
      n,
      step: r.step,
      title: t(`try.step.${r.step}`),
      at: r.at,
      curl: r.curl,
      status: r.response.status,
      contentType: r.response.contentType,
      wwwAuthenticate: r.response.wwwAuthenticate,
      body: body === undefined ? (r.response.text ?? '') : JSON.stringify(body, null, 2),
      fields,
      idToken,
      rotated: r.rotated,
      spec: STEP_SPEC[r.step],
    };
  }

  return router;
}

const time = (v: unknown) => (typeof v === 'number' ? new Date(v * 1000).toISOString() : undefined);

/** What the client may ask for: its registered scope, or every scope when it registered none. */
function allowedScopes(client: ClientMetadata): string[] {
  const registered = client.scope ? client.scope.split(' ') : [...SCOPES];
  const refresh = (client.grant_types ?? []).includes('refresh_token');
  return [...new Set(SCOPES)].filter((s) => registered.includes(s) && (s !== 'offline_access' || refresh));
}

function defaultScopes(client: ClientMetadata): string[] {
  const scopes = allowedScopes(client).filter((s) => DEFAULT_SCOPES.includes(s));
  return scopes.length ? scopes : allowedScopes(client).slice(0, 1);
}
