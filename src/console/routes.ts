// The console's home page, where a person signs in (or signs up, when
// CONSOLE_SIGN_UP allows), sees their clients, creates, edits, re-keys and
// deletes them. Every rule about a client is the client
// service's (src/clients/clients.ts), shared with the command line; this
// module reads forms, checks who is asking, and renders pages.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { ClientMetadata } from 'oidc-provider';
import { AccountError, type Accounts, type Account } from '../accounts/accounts.js';
import { KdfBusy } from '../accounts/password.js';
import { ClientError, type ClientField, type Clients } from '../clients/clients.js';
import type { Metrics } from '../observability/metrics.js';
import type { Throttle } from '../security/throttle.js';
import { SCOPES } from '../oidc/scopes.js';
import { ROUTES, consoleClientPath } from '../routes.js';
import { translator, type MessageKey, type Translate } from '../web/i18n.js';
import { type ClientFormValues, formOf, readClientForm, text, toChanges, toNewClient, AUTH_METHODS } from './forms.js';
import type { ConsoleKit, SignedIn } from './kit.js';
import type { Session } from './sessions.js';

export interface ConsoleDeps {
  kit: ConsoleKit;
  issuer: string;
  signUp: boolean;
  accounts: Accounts;
  clients: Clients;
  throttle: Throttle;
  metrics: Metrics;
}

const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;

/** The home page (sign-in, sign-up, sign-out) and the account's clients. */
export function clientRoutes(deps: ConsoleDeps): Router {
  const { kit, clients, accounts, throttle, metrics } = deps;
  const { page, problem, form, requireSignIn, requireCsrf, signedIn, sessions, views } = kit;
  const router = new Router();

  // --- home, sign-in, sign-up, sign-out ---

  router.get(ROUTES.home, async (ctx) => {
    const current = ctx.state.console as SignedIn | undefined;
    if (!current) return page(ctx, 'console/home', 'console.home.title', { signUp: deps.signUp, form: {} });
    page(ctx, 'console/clients', 'console.clients.title', {
      clients: (await clients.ownedBy(current.account.id)).map(summary),
    });
  });

  router.post(ROUTES.consoleSignIn, form, requireCsrf, async (ctx) => {
    const body = ctx.request.body as Record<string, unknown> | undefined;
    const username = text(body, 'username', 64);
    const password = typeof body?.password === 'string' ? body.password : '';
    const again = (status: number, error: MessageKey, vars: Record<string, string> = {}) =>
      page(ctx, 'console/home', 'console.home.title', { signUp: deps.signUp, form: { username }, error, vars }, status);
    if (!username || !password) return again(400, 'login.missing');
    // The provider's own sign-in limits, on the same counters: the console is
    // no way around them.
    const wait = await throttle.loginAttempt(username, ctx.ip);
    if (wait > 0) {
      metrics.loginFailures.inc({ reason: 'throttled' });
      ctx.set('retry-after', String(wait));
      return again(429, 'login.throttled', { minutes: String(Math.ceil(wait / 60)) });
    }
    let account: Account | undefined;
    try {
      account = await accounts.authenticate(username, password);
    } catch (err) {
      if (!(err instanceof KdfBusy)) throw err;
      ctx.set('retry-after', '1');
      return again(503, 'login.busy');
    }
    if (!account) {
      metrics.loginFailures.inc({ reason: 'bad_credentials' });
      return again(401, 'login.failed');
    }
    await throttle.loginSucceeded(username, ctx.ip);
    await sessions.start(ctx, account.id);
    ctx.status = 303;
    ctx.redirect(ROUTES.home);
  });

  router.get(ROUTES.consoleSignUp, async (ctx) => {
    if (!deps.signUp) return problem(ctx, 404, 'console.signUpClosed');
    page(ctx, 'console/sign-up', 'console.signUp.title', { form: {} });
  });

  router.post(ROUTES.consoleSignUp, form, requireCsrf, async (ctx) => {
    if (!deps.signUp) return problem(ctx, 404, 'console.signUpClosed');
    const body = ctx.request.body as Record<string, unknown> | undefined;
    const values = {
      username: text(body, 'username', 200),
      name: text(body, 'name', 200),
      email: text(body, 'email', 320),
    };
    const password = typeof body?.password === 'string' ? body.password : '';
    const again = (status: number, error: MessageKey, field: string) =>
      page(ctx, 'console/sign-up', 'console.signUp.title', { form: values, error, field }, status);
    // Each attempt counts against the IP's sign-in limit: sign-up is no
    // faster way to probe which names exist.
    const wait = await throttle.loginAttempt(values.username, ctx.ip);
    if (wait > 0) {
      ctx.set('retry-after', String(wait));
      return again(429, 'console.signUp.throttled', 'username');
    }
    let account: Account;
    try {
      account = await accounts.create({
        username: values.username,
        password,
        name: values.name || undefined,
        email: values.email || undefined,
      });
    } catch (err) {
      if (err instanceof KdfBusy) {
        ctx.set('retry-after', '1');
        return again(503, 'login.busy', 'username');
      }
      if (!(err instanceof AccountError)) throw err;
      const status = err.problem === 'usernameTaken' ? 409 : 400;
      return again(
        status,
        `console.signUp.problem.${err.problem}`,
        err.problem === 'usernameTaken' ? 'username' : err.problem,
      );
    }
    await sessions.start(ctx, account.id);
    ctx.status = 303;
    ctx.redirect(ROUTES.home);
  });

  router.post(ROUTES.consoleSignOut, form, requireCsrf, async (ctx) => {
    await sessions.end(ctx);
    ctx.status = 303;
    ctx.redirect(ROUTES.home);
  });

  // --- clients ---

  const formModel = (values: ClientFormValues, extra: Record<string, unknown> = {}) => ({
    form: values,
    allScopes: SCOPES,
    allGrantTypes: GRANT_TYPES,
    allResponseTypes: clients.responseTypesOffered,
    authMethods: AUTH_METHODS,
    ...extra,
  });

  /** The problem as the form shows it: next to its field, in the reader's words. */
  const fieldError = (t: Translate, err: ClientError): { field: ClientField | 'form'; message: string } => ({
    field: err.field ?? 'form',
    message: t(`console.client.problem.${err.problem}`, { detail: err.value ?? err.message }),
  });

  router.get(ROUTES.consoleNewClient, requireSignIn, async (ctx) => {
    page(
      ctx,
      'console/client-new',
      'console.client.newTitle',
      formModel({
        name: '',
        clientUri: '',
        redirectUris: `${deps.issuer}${ROUTES.consoleCallback}`,
        postLogoutRedirectUris: '',
        scopes: ['openid', 'profile', 'buy', 'buy_history'],
        grantTypes: ['authorization_code', 'refresh_token'],
        responseTypes: ['code'],
        authMethod: 'client_secret_basic',
      }),
    );
  });

  router.post(ROUTES.consoleClients, requireSignIn, form, requireCsrf, async (ctx) => {
    const { session, account } = signedIn(ctx);
    const values = readClientForm(ctx.request.body as Record<string, unknown>);
    let created: ClientMetadata;
    try {
      created = await clients.create(toNewClient(values, account.id));
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      const t = translator(views.locale(ctx));
      return page(ctx, 'console/client-new', 'console.client.newTitle', formModel(values, fieldError(t, err)), 400);
    }
    await reveal(session, created);
    ctx.status = 303;
    ctx.redirect(consoleClientPath(created.client_id));
  });

  // A client that is not the signed-in account's is answered exactly as one that does not exist.
  const owned = (ctx: Context) => kit.ownClient(ctx, ctx.params.id ?? '');

  const clientPage = async (
    ctx: Context,
    client: ClientMetadata,
    extra: Record<string, unknown> = {},
    status = 200,
  ) => {
    const { session } = signedIn(ctx);
    // The secret is shown on the first page after it was made, and never again.
    const secret = session.data.reveal?.clientId === client.client_id ? session.data.reveal.secret : undefined;
    if (session.data.reveal) {
      delete session.data.reveal;
      await sessions.save(session);
    }
    page(
      ctx,
      'console/client',
      'console.client.title',
      formModel(formOf(client, SCOPES), { client: summary(client), secret, ...extra }),
      status,
    );
  };

  router.get('/console/clients/:id', requireSignIn, async (ctx) => {
    const client = await owned(ctx);
    if (client) await clientPage(ctx, client, { saved: ctx.query.saved === '1' });
  });

  router.post('/console/clients/:id', requireSignIn, form, requireCsrf, async (ctx) => {
    const client = await owned(ctx);
    if (!client) return;
    const values = readClientForm(ctx.request.body as Record<string, unknown>);
    try {
      await clients.update(signedIn(ctx).account.id, client.client_id, toChanges(values));
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      const t = translator(views.locale(ctx));
      const model = formModel(
        { ...formOf(client, SCOPES), ...values },
        { client: summary(client), ...fieldError(t, err) },
      );
      return page(ctx, 'console/client', 'console.client.title', model, 400);
    }
    ctx.status = 303;
    ctx.redirect(`${consoleClientPath(client.client_id)}?saved=1`);
  });

  router.post('/console/clients/:id/secret', requireSignIn, form, requireCsrf, async (ctx) => {
    const client = await owned(ctx);
    if (!client) return;
    try {
      await reveal(signedIn(ctx).session, await clients.rotateSecret(signedIn(ctx).account.id, client.client_id));
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      return problem(ctx, 400, 'console.client.noSecret');
    }
    ctx.status = 303;
    ctx.redirect(consoleClientPath(client.client_id));
  });

  router.get('/console/clients/:id/delete', requireSignIn, async (ctx) => {
    const client = await owned(ctx);
    if (client) page(ctx, 'console/client-delete', 'console.client.deleteTitle', { client: summary(client) });
  });

  router.post('/console/clients/:id/delete', requireSignIn, form, requireCsrf, async (ctx) => {
    const client = await owned(ctx);
    if (!client) return;
    await clients.delete(signedIn(ctx).account.id, client.client_id);
    ctx.status = 303;
    ctx.redirect(ROUTES.home);
  });

  async function reveal(session: Session, client: ClientMetadata): Promise<void> {
    if (typeof client.client_secret !== 'string') return;
    session.data.reveal = { clientId: client.client_id, secret: client.client_secret };
    await sessions.save(session);
  }

  // A reload of a page that answered a form, or a bookmark of one: home.
  for (const path of [ROUTES.consoleSignIn, ROUTES.consoleSignOut, ROUTES.consoleClients]) {
    router.get(path, (ctx) => ctx.redirect(ROUTES.home));
  }
  return router;
}

/** What a list or a heading shows of a client: never its secret. */
function summary(client: ClientMetadata) {
  return {
    id: client.client_id,
    name: client.client_name ?? client.client_id,
    redirectUris: client.redirect_uris ?? [],
    grantTypes: client.grant_types ?? [],
    responseTypes: client.response_types ?? [],
    authMethod: client.token_endpoint_auth_method,
    scope: client.scope,
    public: client.token_endpoint_auth_method === 'none',
  };
}
