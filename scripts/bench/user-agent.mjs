// A minimal cookie-keeping "browser" for the benchmark, the same logic as
// tests/helpers/user-agent.ts (which is TypeScript for jest): follows
// same-server redirects by hand, keeps cookies, submits our HTML forms with
// their hidden fields, and stops at the first redirect that leaves the
// server (the client's redirect_uri). Plain .mjs so the bench runs on node.

export class UserAgent {
  cookies = new Map();

  constructor(origin) {
    this.origin = origin;
  }

  #store(res) {
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

  async request(url, init = {}) {
    const headers = { ...init.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(new URL(url, this.origin), { method: init.method ?? 'GET', body: init.body, redirect: 'manual', headers });
    this.#store(res);
    return res;
  }

  /** Follows same-server redirects; returns the last page, or { redirect } when sent off-site. */
  async navigate(url, init = {}) {
    let res = await this.request(url, init);
    let current = new URL(url, this.origin).href;
    for (let hops = 0; hops < 20; hops++) {
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) {
        return { url: current, status: res.status, html: await res.text() };
      }
      await res.arrayBuffer();
      const next = new URL(location, current);
      if (next.origin !== this.origin || !isServerPath(next.pathname)) return { redirect: next.href };
      current = next.href;
      res = await this.request(current);
    }
    throw new Error('too many redirects');
  }

  async submit(page, actionSuffix, fields = {}) {
    const form = findForm(page.html, actionSuffix);
    const body = new URLSearchParams({ ...form.hidden, ...fields });
    return this.navigate(new URL(form.action, page.url).href, { method: 'POST', body });
  }
}

const isServerPath = (path) => path.startsWith('/oauth/') || path.startsWith('/interaction/');

const decode = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function findForm(html, actionSuffix) {
  for (const [, attrs = '', inner = ''] of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const action = /action="([^"]*)"/.exec(attrs)?.[1];
    if (action === undefined || !decode(action).endsWith(actionSuffix)) continue;
    const hidden = {};
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

/**
 * Runs an authorization request to its end as a person would: signs in when
 * the login page is shown, allows at the consent page. Returns the URL the
 * client was sent back to and the pages shown on the way.
 */
export async function authorize(ua, authorizationUrl, { username, password } = {}) {
  const shown = [];
  let step = await ua.navigate(authorizationUrl);
  for (let i = 0; i < 5 && 'html' in step; i++) {
    if (step.html.includes('/login"')) {
      shown.push('login');
      if (username === undefined) throw new Error('login page shown but no credentials given');
      step = await ua.submit(step, '/login', { username, password });
    } else if (step.html.includes('/confirm"')) {
      shown.push('consent');
      step = await ua.submit(step, '/confirm');
    } else {
      throw new Error(`unexpected page (${step.status}) at ${step.url}: ${(/<title>([^<]*)/.exec(step.html)?.[1] ?? '')} ${step.html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').slice(0, 200)}`);
    }
  }
  if ('html' in step) throw new Error('authorization did not finish');
  return { callback: new URL(step.redirect), shown };
}
