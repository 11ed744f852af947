// A person using the developer console over HTTP (src/console/): signing up,
// reading a page's form token, creating a client on the console's form.
// Shared by the console's HTTP tests, which differ in what they do next.
import { UserAgent, decode, isPage, type Page } from './user-agent.js';

/** A page of the server; fails if the request left the server (a redirect to a client). */
export async function pageAt(
  ua: UserAgent,
  path: string,
  init?: { method?: string; body?: URLSearchParams },
): Promise<Page> {
  const step = await ua.navigate(path, init);
  if (!isPage(step)) throw new Error(`left the server for ${step.redirect}`);
  return step;
}

/** The console's form token in a page. */
export const csrfIn = (html: string): string => decode(/name="csrf" value="([^"]*)"/.exec(html)?.[1] ?? '');

let n = 0;

/** A new person with a browser speaking `lang`, signed up and signed in. */
export async function signedUp(
  issuer: string,
  { lang = 'en', prefix = 'dev' }: { lang?: string; prefix?: string } = {},
): Promise<{ ua: UserAgent; username: string; password: string }> {
  const ua = new UserAgent(issuer, { 'accept-language': lang });
  const username = `${prefix}${++n}`;
  const password = `pw-${n}-correct horse`;
  const home = await ua.submit(await pageAt(ua, '/console/sign-up'), '/console/sign-up', { username, password });
  if (!isPage(home) || home.status !== 200 || !home.html.includes('action="/console/sign-out"'))
    throw new Error(`sign-up did not sign in: ${isPage(home) ? home.html.slice(0, 300) : home.redirect}`);
  return { ua, username, password };
}

/** The console's client form, as its fields are named (repeated fields as arrays). */
export interface ClientForm {
  name?: string;
  client_uri?: string;
  redirect_uris?: string;
  post_logout_redirect_uris?: string;
  scope?: string[];
  grant_types?: string[];
  response_types?: string[];
  token_endpoint_auth_method?: string;
}

/** The form's fields, urlencoded as a browser sends them, with the form token. */
export function formBody(csrf: string, form: ClientForm): URLSearchParams {
  const body = new URLSearchParams({ csrf });
  for (const [name, value] of Object.entries(form)) {
    for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  }
  return body;
}

/** A code client with a refresh token, the seed's scopes and a redirect URI off the server. */
export const CODE_CLIENT: ClientForm = {
  name: 'My shop',
  redirect_uris: 'http://127.0.0.1:9999/cb',
  scope: ['openid', 'profile', 'buy', 'buy_history'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
};

/** Submits the new-client form; returns the page shown after it, the client's id and the secret shown there ('' when refused). */
export async function createClient(
  ua: UserAgent,
  form: ClientForm = CODE_CLIENT,
): Promise<{ shown: Page; clientId: string; secret?: string }> {
  const csrf = csrfIn((await pageAt(ua, '/console/clients/new')).html);
  const shown = await pageAt(ua, '/console/clients', { method: 'POST', body: formBody(csrf, form) });
  const clientId = decode(/id="client-id">([^<]*)</.exec(shown.html)?.[1] ?? '');
  const secret = /id="client-secret">([^<]*)</.exec(shown.html)?.[1];
  return { shown, clientId, secret: secret && decode(secret) };
}
