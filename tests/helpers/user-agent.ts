// A person with a browser, over plain HTTP: follows redirects by hand, keeps
// cookies, reads our HTML forms and submits them the way a browser would
// (application/x-www-form-urlencoded, every field of the form). It stops at
// the first redirect that leaves the server (the client's redirect_uri).

export interface Page {
  url: string;
  status: number;
  html: string;
  headers: Headers;
}

export class UserAgent {
  readonly cookies = new Map<string, string>();

  constructor(
    readonly origin: string,
    readonly headers: Record<string, string> = {},
  ) {}

  #store(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = /expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0/i.test(line);
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  // Path scoping is ignored: every cookie is sent everywhere on the origin.
  // That is more than a browser sends, so it can only make CSRF or session
  // tests pass less easily, never more.
  #cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(
    url: string,
    init: { method?: string; body?: URLSearchParams; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const res = await fetch(new URL(url, this.origin), {
      method: init.method ?? 'GET',
      body: init.body,
      redirect: 'manual',
      headers: { ...this.headers, ...init.headers, ...(this.cookies.size ? { cookie: this.#cookieHeader() } : {}) },
    });
    this.#store(res);
    return res;
  }

  /** Follows same-origin redirects; returns the last page, or the off-site URL it was sent to. */
  async navigate(
    url: string,
    init: { method?: string; body?: URLSearchParams } = {},
  ): Promise<Page | { redirect: string }> {
    let res = await this.request(url, init);
    let current = new URL(url, this.origin).href;
    for (let hops = 0; hops < 20; hops++) {
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) {
        return { url: current, status: res.status, html: await res.text(), headers: res.headers };
      }
      await res.arrayBuffer();
      const next = new URL(location, current);
      if (next.origin !== this.origin || !isServerPath(next.pathname)) return { redirect: next.href };
      current = next.href;
      res = await this.request(current);
    }
    throw new Error('too many redirects');
  }

  /** Submits the form whose action matches, with its hidden fields plus `fields`. */
  async submit(
    page: Page,
    actionSuffix: string,
    fields: Record<string, string> = {},
  ): Promise<Page | { redirect: string }> {
    const form = findForm(page.html, actionSuffix);
    const body = new URLSearchParams({ ...form.hidden, ...fields });
    return this.navigate(new URL(form.action, page.url).href, { method: 'POST', body });
  }
}

// Our own pages (sign-in, consent, the console at / and /console/) and the
// provider's endpoints; anything else is "the client".
const isServerPath = (path: string) =>
  path === '/' || path.startsWith('/oauth/') || path.startsWith('/interaction/') || path.startsWith('/console/');

export function findForm(html: string, actionSuffix: string): { action: string; hidden: Record<string, string> } {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  for (const [, attrs = '', inner = ''] of forms) {
    const action = /action="([^"]*)"/.exec(attrs)?.[1];
    if (action === undefined || !decode(action).endsWith(actionSuffix)) continue;
    const hidden: Record<string, string> = {};
    for (const [input = ''] of inner.matchAll(/<input\b[^>]*>/g)) {
      if (!/type="hidden"/.test(input)) continue;
      const name = /name="([^"]*)"/.exec(input)?.[1];
      const value = /value="([^"]*)"/.exec(input)?.[1] ?? '';
      if (name) hidden[decode(name)] = decode(value);
    }
    return { action: decode(action), hidden };
  }
  throw new Error(`no form with action ending in ${actionSuffix}`);
}

export const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

export function isPage(x: Page | { redirect: string }): x is Page {
  return 'html' in x;
}

export interface AuthorizeOptions {
  username?: string;
  password?: string;
  /** What to do at the consent screen, if one is shown. */
  consent?: 'allow' | 'deny';
  /** Send the request's parameters as a form POST (OIDC Core §3.1.2.1, "Form Serialization") instead of a GET. */
  post?: boolean;
}

/**
 * Runs an authorization request to its end as a person would: signs in if
 * asked, answers consent if asked. Returns the URL the client got back, and
 * which pages were shown on the way.
 */
export async function authorize(
  ua: UserAgent,
  authorizationUrl: string,
  opts: AuthorizeOptions = {},
): Promise<{ callback: URL; shown: string[] }> {
  const shown: string[] = [];
  let step = await (opts.post ? ua.navigate(...asFormPost(authorizationUrl)) : ua.navigate(authorizationUrl));
  for (let i = 0; i < 5 && isPage(step); i++) {
    const page: Page = step;
    if (page.html.includes('/login"')) {
      shown.push('login');
      if (opts.username === undefined) throw new Error('login page shown but no credentials given');
      step = await ua.submit(page, '/login', { username: opts.username, password: opts.password ?? '' });
    } else if (page.html.includes('/confirm"')) {
      shown.push('consent');
      step = opts.consent === 'deny' ? await ua.submit(page, '/abort') : await ua.submit(page, '/confirm');
    } else {
      throw new Error(`unexpected page (${page.status}) at ${page.url}: ${page.html.slice(0, 500)}`);
    }
  }
  if (isPage(step)) throw new Error('authorization did not finish');
  return { callback: new URL(step.redirect), shown };
}

/** The same request as a form POST: the URL's query becomes the body. */
export function asFormPost(url: string): [string, { method: 'POST'; body: URLSearchParams }] {
  const u = new URL(url);
  const body = new URLSearchParams(u.search);
  u.search = '';
  return [u.href, { method: 'POST', body }];
}
