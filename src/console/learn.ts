// The console's teaching pages (issue 12, items 4 to 6): this server's
// discovery document and keys explained field by field, a token inspector
// for the signed-in account's own tokens, and the resource API's reference
// rendered from its OpenAPI document.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { ClientMetadata } from 'oidc-provider';
import type { Accounts } from '../accounts/accounts.js';
import type { JsonSchema, OpenApiDocument, OpenApiResponse, OpenApiReference } from '../api/openapi.js';
import { ClientNotFound, type Clients } from '../clients/clients.js';
import type { ProviderHolder } from '../oidc/provider-holder.js';
import { ROUTES } from '../routes.js';
import { hasMessage, translator, type Locale, type Translate } from '../web/i18n.js';
import type { ConsoleKit } from './kit.js';
import { DISCOVERY_FIELDS, JWK_MEMBERS, isDiscoveryField, isJwkMember, type SpecLink } from './specs.js';

export interface LearnDeps {
  kit: ConsoleKit;
  issuer: string;
  provider: ProviderHolder;
  clients: Clients;
  accounts: Accounts;
  /** The document GET /api/openapi.json serves (src/api/openapi.ts), built once by src/app.ts. */
  openApi: OpenApiDocument;
}

/** A pasted token longer than this is no token of ours (the library's are 43 characters). */
const MAX_TOKEN_LENGTH = 4096;
const FETCH_TIMEOUT_MS = 5000;

export function learnRoutes(deps: LearnDeps): Router {
  const { kit } = deps;
  const { page, problem, form, requireSignIn, requireCsrf, signedIn, views } = kit;
  const router = new Router();

  // --- discovery explained ---

  // Fetched over HTTP from the issuer, as any client fetches it: the page
  // shows exactly the bytes a client gets, including what the library adds
  // by itself, rather than a copy rebuilt from our configuration that could
  // drift from it. Behind a proxy the issuer's public address must be
  // reachable from this host; when it is not, the page says so.
  router.get(ROUTES.consoleDiscovery, async (ctx) => {
    const t = translator(views.locale(ctx));
    const discoveryUrl = `${deps.issuer}${ROUTES.openidConfiguration}`;
    let discovery: Record<string, unknown>;
    let jwks: { keys?: Record<string, unknown>[] };
    try {
      discovery = await fetchJson(discoveryUrl);
      // Our own document's jwks_uri; anything but a URL on the issuer is not followed.
      const jwksUri = typeof discovery.jwks_uri === 'string' ? discovery.jwks_uri : '';
      if (!jwksUri.startsWith(`${deps.issuer}/`)) throw new Error(`jwks_uri ${jwksUri} is not on the issuer`);
      jwks = await fetchJson(jwksUri);
    } catch (err) {
      ctx.app.emit('error', err, ctx);
      return problem(ctx, 503, 'learn.discovery.unavailable');
    }
    page(ctx, 'console/discovery', 'learn.discovery.title', {
      discoveryUrl,
      jwksUrl: discovery.jwks_uri,
      fields: Object.entries(discovery).map(([name, value]) =>
        explained(t, name, value, isDiscoveryField(name) ? DISCOVERY_FIELDS[name] : undefined, 'learn.field.'),
      ),
      keys: (jwks.keys ?? []).map((key) => ({
        kid: typeof key.kid === 'string' ? key.kid : '',
        members: Object.entries(key).map(([name, value]) =>
          explained(t, name, value, isJwkMember(name) ? JWK_MEMBERS[name] : undefined, 'learn.jwk.'),
        ),
      })),
    });
  });

  // --- inspect a token ---

  const inspectPage = (ctx: Context, model: Record<string, unknown> = {}) =>
    page(ctx, 'console/inspect', 'learn.inspect.title', { script: ROUTES.countdownScript, ...model });

  router.get(ROUTES.consoleInspect, requireSignIn, (ctx) => inspectPage(ctx));

  router.post(ROUTES.consoleInspect, requireSignIn, form, requireCsrf, async (ctx) => {
    const body = ctx.request.body as Record<string, unknown> | undefined;
    const token = typeof body?.token === 'string' ? body.token.trim() : '';
    const locale = views.locale(ctx);
    const found = await inspect(deps, signedIn(ctx).account.id, token);
    // The pasted token goes back only into its own field (it is the reader's
    // own, on a no-store page); never into a URL or a log line.
    inspectPage(ctx, {
      token,
      result: found ? present(found, locale, translator(locale)) : undefined,
      inactive: !found,
    });
  });

  // --- the API reference ---

  router.get(ROUTES.consoleApi, (ctx) => {
    page(ctx, 'console/api', 'learn.api.title', {
      documentUrl: ROUTES.apiOpenApi,
      codeSpans,
      ...apiReference(deps.openApi, translator(views.locale(ctx))),
    });
  });

  return router;
}

async function fetchJson<T>(url: string): Promise<T> {
  const res = await fetch(url, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return (await res.json()) as T;
}

/** One field as the page shows it: its value, and what it means where we know. */
function explained(t: Translate, name: string, value: unknown, spec: SpecLink | undefined, prefix: string) {
  const key = `${prefix}${name}`;
  return {
    name,
    values: Array.isArray(value) ? value.map(show) : [show(value)],
    list: Array.isArray(value),
    meaning: hasMessage(key) ? t(key) : undefined,
    spec,
  };
}

const show = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

interface Inspection {
  kind: 'AccessToken' | 'ClientCredentials' | 'RefreshToken';
  scopes: string[];
  exp: number;
  iat?: number;
  aud?: string | string[];
  client: ClientMetadata;
  sub?: string;
  username?: string;
}

/**
 * What the signed-in account may learn about a token: everything when it was
 * issued to one of the account's clients and is active, nothing otherwise.
 *
 * In-process through the library's models rather than RFC 7662 introspection
 * over HTTP: introspection would need the owning client's secret, which this
 * server keeps only to compare (and public clients have none), and the
 * question "is it one of this account's clients?" has to be asked first
 * anyway. The checks are the ones the library's own introspection endpoint
 * makes (lib/actions/introspection.js): the token is valid (not expired, not
 * consumed), and its grant still exists, is unexpired and belongs to the same
 * client and account (a revoked grant is a revoked token).
 */
async function inspect(deps: LearnDeps, accountId: string, value: string): Promise<Inspection | undefined> {
  if (!value || value.length > MAX_TOKEN_LENGTH) return undefined;
  const provider = deps.provider.current;
  const token =
    (await provider.AccessToken.find(value)) ??
    (await provider.ClientCredentials.find(value)) ??
    (await provider.RefreshToken.find(value));
  if (!token?.isValid || !token.clientId || !token.exp) return undefined;
  // Client credentials tokens have no grant and no account.
  const accountIdOfToken = 'accountId' in token ? token.accountId : undefined;
  if ('grantId' in token && token.grantId) {
    const grant = await provider.Grant.find(token.grantId, { ignoreExpiration: true });
    if (!grant || grant.isExpired || grant.clientId !== token.clientId || grant.accountId !== accountIdOfToken) {
      return undefined;
    }
  }
  let client: ClientMetadata;
  try {
    client = await deps.clients.owned(accountId, token.clientId);
  } catch (err) {
    if (err instanceof ClientNotFound) return undefined;
    throw err;
  }
  const account = accountIdOfToken ? await deps.accounts.findById(accountIdOfToken) : undefined;
  return {
    kind: token.kind as Inspection['kind'],
    scopes: [...(token.scopes ?? [])],
    exp: token.exp,
    iat: token.iat,
    aud: 'aud' in token ? (token.aud as string | string[] | undefined) : undefined,
    client,
    sub: accountIdOfToken,
    username: account?.username,
  };
}

function present(found: Inspection, locale: Locale, t: Translate) {
  const when = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'long' });
  const remaining = Math.max(0, found.exp - Math.floor(Date.now() / 1000));
  return {
    type: t(`learn.inspect.type.${found.kind}`),
    scopes: found.scopes,
    expiresAt: when.format(found.exp * 1000),
    expiresIso: new Date(found.exp * 1000).toISOString(),
    remaining,
    expiresIn: timeLeft(t, remaining),
    issuedAt: found.iat ? when.format(found.iat * 1000) : undefined,
    audience: found.aud === undefined ? undefined : [found.aud].flat(),
    clientId: found.client.client_id,
    clientName: found.client.client_name ?? found.client.client_id,
    sub: found.sub,
    username: found.username,
  };
}

/** "in 5 min", "in 3 h 20 min", "in 9 d 23 h": what the page says without its script. */
function timeLeft(t: Translate, seconds: number): string {
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 120) return t('learn.inspect.expiresIn', { minutes: String(minutes) });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t('learn.inspect.expiresInHours', { hours: String(hours), minutes: String(minutes % 60) });
  return t('learn.inspect.expiresInDays', { days: String(Math.floor(hours / 24)), hours: String(hours % 24) });
}

function isReference(r: OpenApiResponse | OpenApiReference): r is OpenApiReference {
  return '$ref' in r;
}

/**
 * The document's descriptions are CommonMark (OpenAPI 3.1 §4.8); ours use
 * only `code spans`. Split so the view renders each as <code>, still escaped:
 * no Markdown renderer, and no HTML from the document reaches the page.
 */
export function codeSpans(text: string): { code: boolean; text: string }[] {
  return text.split('`').map((part, i) => ({ code: i % 2 === 1, text: part }));
}

/** A JSON body as a list of its fields (what a person reads first), and the whole schema. */
function requestBody(description: string, schema: JsonSchema = {}) {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = Array.isArray(schema.required) ? schema.required : [];
  return {
    description,
    fields: Object.entries(properties).map(([name, field]) => ({
      name,
      type: typeof field.type === 'string' ? field.type : undefined,
      required: required.includes(name),
      description: typeof field.description === 'string' ? field.description : undefined,
      examples: Array.isArray(field.examples) ? field.examples.map(String) : [],
    })),
    schema: JSON.stringify(schema, null, 2),
  };
}

/** The document's operations as the page lists them; $refs to shared responses resolved. */
function apiReference(doc: OpenApiDocument, t: Translate) {
  const shared = doc.components.responses;
  const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    (['get', 'post'] as const).flatMap((method) => {
      const op = item[method];
      if (!op) return [];
      const scopes = op.security.flatMap((requirement) => Object.values(requirement).flat());
      const security = !op.security.length
        ? t('learn.api.noToken')
        : scopes.length
          ? t('learn.api.scopes', { scopes: scopes.join(' ') })
          : t('learn.api.anyToken');
      return [
        {
          id: op.operationId,
          method: method.toUpperCase(),
          path,
          summary: op.summary,
          description: op.description,
          security,
          parameters: (op.parameters ?? []).map((p) => ({
            name: p.name,
            required: p.required,
            description: p.description,
            schema: JSON.stringify(p.schema),
          })),
          body:
            op.requestBody && requestBody(op.requestBody.description, Object.values(op.requestBody.content)[0]?.schema),
          responses: Object.entries(op.responses).map(([status, r]) => ({
            status,
            description: isReference(r)
              ? (shared[r.$ref.split('/').pop() ?? '']?.description ?? r.$ref)
              : r.description,
          })),
        },
      ];
    }),
  );
  return {
    info: doc.info,
    servers: doc.servers ?? [],
    operations,
  };
}
