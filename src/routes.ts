// Every path this server answers, in one table: adding or moving a route is
// one edit here, and the provider's `routes` option, the 405 lists, the
// multipart shim, the cache rules, the metric labels and the demo client's
// redirect URIs all follow.
//
// Why here, at the root of src/ but importing nothing of ours (one type from
// the library): it is read by the lowest layers (src/config/ derives the
// default introspection endpoint and API audience from it, src/oidc/ hands
// it to the library) as well as the upper ones (src/app.ts, src/api/,
// src/interactions/, src/web/). Kept in src/oidc/ or src/app.ts, the config would have
// to import upwards; as a leaf module every folder may import it and it can
// import no one back.
import type { Configuration } from 'oidc-provider';

/** The library's endpoints, passed as its `routes` option (docs/README.md, "routes"): everything under /oauth/. */
const oauth = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  userinfo: '/oauth/userinfo',
  jwks: '/oauth/jwks',
  introspection: '/oauth/introspect',
  revocation: '/oauth/revoke',
  end_session: '/oauth/logout',
  registration: '/oauth/register',
  pushed_authorization_request: '/oauth/par',
  code_verification: '/oauth/device',
  device_authorization: '/oauth/device/auth',
  backchannel_authentication: '/oauth/backchannel',
} as const satisfies NonNullable<Configuration['routes']>;

export const ROUTES = {
  oauth,
  // The library adds these under end_session (lib/helpers/initialize_app.js).
  endSessionConfirm: `${oauth.end_session}/confirm`,
  endSessionSuccess: `${oauth.end_session}/success`,
  // Fixed by the library (OpenID Connect Discovery 1.0 §4).
  openidConfiguration: '/.well-known/openid-configuration',
  // RFC 8414 §3: the same document for plain OAuth clients.
  oauthAuthorizationServer: '/.well-known/oauth-authorization-server',
  wellKnownPrefix: '/.well-known/',

  staticPrefix: '/static/',
  stylesheet: '/static/app.css',
  favicon: '/favicon.ico',
  healthz: '/healthz',
  metrics: '/metrics',
  demoCallback: '/demo/callback',
  demoLoggedOut: '/demo/logged-out',
  /** The language switcher on every page: GET `?lang=<locale>&back=<path on this server>` (src/web/locale.ts). */
  locale: '/locale',

  /** Sign-in and consent pages: `${interaction}/:uid`, and POST `${interaction}/:uid/{login,confirm,abort}`. */
  interaction: '/interaction',
  interactionActions: ['login', 'confirm', 'abort'],

  /** The developer console (src/console/): its home is the site's root. */
  home: '/',
  console: '/console',
  consoleSignIn: '/console/sign-in',
  consoleSignUp: '/console/sign-up',
  consoleSignOut: '/console/sign-out',
  consoleClients: '/console/clients',
  consoleNewClient: '/console/clients/new',
  /** Where the console's "try the code flow" page receives its authorization responses. */
  consoleCallback: '/console/callback',
  /** The "try the code flow" pages of one client: `${consoleClients}/:id${consoleTry}`, and its actions below it. */
  consoleTry: '/try',
  /** The teaching pages (src/console/learn.ts). */
  consoleDiscovery: '/console/discovery',
  consoleInspect: '/console/inspect',
  consoleApi: '/console/api',
  /** The inspect page's countdown, progressive: the page says "in N min" without it. */
  countdownScript: '/static/countdown.js',

  /** The resource API: everything under `api` is answered by src/api/routes.ts. */
  api: '/api',
  apiItems: '/api/items',
  apiMe: '/api/me',
  apiBuy: '/api/items/buy',
  apiOrders: '/api/orders',
  /** The OpenAPI 3.1 description of the paths above (src/api/openapi.ts). */
  apiOpenApi: '/api/openapi.json',
} as const;

/** The page of one interaction, or one of its form actions. */
export function interactionPath(uid: string, action?: (typeof ROUTES.interactionActions)[number]): string {
  return `${ROUTES.interaction}/${uid}${action ? `/${action}` : ''}`;
}

/** A console client's page, or one of its actions. */
export function consoleClientPath(clientId: string, action?: 'secret' | 'delete'): string {
  return `${ROUTES.consoleClients}/${encodeURIComponent(clientId)}${action ? `/${action}` : ''}`;
}

/** A client's "try the code flow" page, or one of its actions (a step's name, or `redirect-uri`). */
export function consoleTryPath(clientId: string, action?: string): string {
  return `${consoleClientPath(clientId)}${ROUTES.consoleTry}${action ? `/${action}` : ''}`;
}

/** Is `path` the API's root or under it? */
export function isApiPath(path: string): boolean {
  return path === ROUTES.api || path.startsWith(`${ROUTES.api}/`);
}

// The library's endpoints that programs call, whose answers stay JSON even
// for a browser; the rest of the library's (authorization, logout and its
// confirm and success pages) are pages a person sees.
const machineEndpoints: string[] = [
  oauth.token,
  oauth.userinfo,
  oauth.jwks,
  oauth.introspection,
  oauth.revocation,
  oauth.registration,
  oauth.pushed_authorization_request,
  oauth.device_authorization,
  oauth.backchannel_authentication,
];

/**
 * Is `path` meant for people, so that a browser is answered with a page even
 * when it fails? Everything but the API, the library's machine endpoints,
 * the metadata documents, /metrics, /healthz and static files; an unknown
 * path too (a person mistyped it).
 */
export function isForPeople(path: string): boolean {
  const p = (path.length > 1 ? path.replace(/\/$/, '') : path).toLowerCase();
  if (isApiPath(p) || p.startsWith(ROUTES.wellKnownPrefix) || p.startsWith(ROUTES.staticPrefix)) return false;
  if (p === ROUTES.metrics || p === ROUTES.healthz || p === ROUTES.favicon) return false;
  return !machineEndpoints.some((e) => p === e || p.startsWith(`${e}/`));
}

/** A path as a literal inside a RegExp. */
export function escapeForRegExp(path: string): string {
  return path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
