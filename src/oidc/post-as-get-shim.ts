// OpenID Connect Core 1.0 §3.1.2.1 says the authorization endpoint MUST
// support POST (application/x-www-form-urlencoded, "Form Serialization"), and
// RP-Initiated Logout 1.0 §2 says the same of the logout endpoint.
// oidc-provider serves POST there only with `enableHttpPostMethods`, which it
// accepts only with `cookies.long.sameSite = 'none'`: a cross-site form POST
// carries no SameSite=Lax cookie, so the library would not see the person's
// session (and at logout would end a fresh, empty one). SameSite=None needs
// Secure, which plain HTTP (our default issuer) cannot set, and would send the
// session cookie on every cross-site request. We keep SameSite=Lax.
//
// So this shim answers such a POST with 303 See Other (RFC 9110 §15.4.4) to
// the same endpoint, the form's fields moved to the query string. The browser
// follows it as a top-level GET navigation, which does carry Lax cookies, and
// the library handles exactly the GET it already handles.
//
// Why this is sound, endpoint by endpoint:
// - Nothing is weakened: anyone able to make a browser POST here can already
//   send it to the same URL by a link (GET is the endpoints' usual method),
//   and the 303 only ever points at this endpoint's own fixed path, never at
//   anything the request names (no open redirect).
// - Authorization: `request` and `request_uri` (RFC 9101, RFC 9126 PAR) are
//   passed on untouched and judged by the library on the GET as usual; a
//   PAR `request_uri` is only read there, once.
// - Logout: the library still shows its confirmation page with its own
//   anti-CSRF field; that form posts to `<end_session>/confirm`, a same-site
//   POST that carries the Lax session cookie, and which this shim leaves
//   alone. Without a session the library confirms by itself, as on GET.
// - The fields end up in a URL (browser history); POST adds no
//   confidentiality over GET here. A client with a large or sensitive request
//   pushes it first (PAR, `/oauth/par`) and sends only its short request_uri.
// - Size: the query the browser is sent to must fit in the GET's request
//   line, which Node's HTTP server limits (with all headers and cookies) to
//   16 KiB. 8 KiB of query leaves room for the rest, and is what common
//   proxies accept (nginx's default large_client_header_buffers line).
//
// A parameter given in both the query and the body is refused: which one
// counts would be a guess (OIDC Core §3.1.2.1 / RFC 6749 §3.1: parameters
// MUST NOT appear more than once). Repeats within the body are passed on,
// and the library refuses them on the GET exactly as it does today.
import type { Context, Next } from 'koa';
import type { Views } from '../web/views.js';

export const MAX_QUERY_BYTES = 8 * 1024;

export interface PostAsGetRoutes {
  authorization: string;
  end_session: string;
}

class Refusal {
  constructor(
    readonly status: number,
    readonly description: string,
  ) {}
}

async function readForm(ctx: Context): Promise<URLSearchParams> {
  const encoding = ctx.get('content-encoding').trim().toLowerCase();
  if (encoding && encoding !== 'identity') throw new Refusal(415, 'content-encoding is not supported');
  const declared = ctx.request.length;
  if (declared !== undefined && declared > MAX_QUERY_BYTES) throw new Refusal(413, 'request body too large');

  const chunks: Buffer[] = [];
  let size = 0;
  try {
    // Not destroyed when left early (the library reads its bodies the same way)...
    for await (const chunk of ctx.req.iterator({ destroyOnReturn: false })) {
      size += (chunk as Buffer).length;
      if (size > MAX_QUERY_BYTES) break;
      chunks.push(chunk as Buffer);
    }
  } catch {
    throw new Refusal(400, 'the request body could not be read');
  }
  if (size > MAX_QUERY_BYTES) {
    // ...and the rest discarded, as Node does with a body nobody reads: the
    // client finishes sending and reads its 413, and the connection stays
    // usable (left unread, the rest would be parsed as the next request).
    ctx.req.resume();
    throw new Refusal(413, 'request body too large');
  }
  if (size === 0 && !ctx.get('content-type')) return new URLSearchParams();
  // An HTML form's own encoding (HTML, "application/x-www-form-urlencoded
  // encoding algorithm") carries no charset; one that names another charset
  // than UTF-8 cannot be re-encoded faithfully.
  const charset = ctx.request.charset.toLowerCase();
  if (
    ctx.request.type !== 'application/x-www-form-urlencoded' ||
    (charset && charset !== 'utf-8' && charset !== 'utf8')
  ) {
    throw new Refusal(415, 'only application/x-www-form-urlencoded bodies in UTF-8 are supported');
  }
  return new URLSearchParams(Buffer.concat(chunks, size).toString('utf8'));
}

export function postAsGetShim(routes: PostAsGetRoutes, views: Views) {
  // The library matches its routes case-insensitively and with or without a
  // trailing slash (lib/helpers/router.js); so does this, for ASCII paths.
  const endpoints = new Map([routes.authorization, routes.end_session].map((path) => [path.toLowerCase(), path]));

  return async function postAsGet(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST') return next();
    const trimmed = ctx.path.length > 1 ? ctx.path.replace(/\/$/, '') : ctx.path;
    const endpoint = endpoints.get(trimmed.toLowerCase());
    if (!endpoint) return next();

    try {
      const body = await readForm(ctx);
      const query = new URLSearchParams(ctx.querystring);
      for (const name of new Set(body.keys())) {
        // The name is the client's text: kept out of error_description (RFC 6749 §5.2's character set).
        if (query.has(name)) throw new Refusal(400, 'a parameter was given in both the query and the body');
      }
      for (const [name, value] of body) query.append(name, value);
      const search = query.toString();
      if (search.length > MAX_QUERY_BYTES) {
        throw new Refusal(
          413,
          endpoint === routes.authorization
            ? 'request too large; push it first (PAR) and send its request_uri'
            : 'request too large',
        );
      }

      ctx.status = 303; // kept by redirect(): POST becomes GET (RFC 9110 §15.4.4)
      ctx.set('cache-control', 'no-store');
      ctx.redirect(search ? `${endpoint}?${search}` : endpoint);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      // What the library does with an error it cannot send to a verified
      // redirect URI (RFC 6749 §4.1.2.1): tell the person, on our error page.
      views.error(ctx, { error: 'invalid_request', error_description: err.description });
      ctx.status = err.status;
    }
  };
}
