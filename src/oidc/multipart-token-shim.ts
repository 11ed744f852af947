// The seed's README sends its token request with `curl -F`, which is
// multipart/form-data. RFC 6749 §4.1.3 says application/x-www-form-urlencoded
// and oidc-provider refuses anything else, so existing seed clients would
// break. This shim, in front of the library's POST endpoints only, re-encodes
// a small multipart body of plain text fields as form-urlencoded and hands it
// to the library, which parses it exactly as if the client had sent that.
// (Mounting: src/app.ts passes ctx.req to the provider's callback.)
// File parts, oversized or malformed bodies get the spec's invalid_request.
import { IncomingMessage } from 'node:http';
import type { Context, Next } from 'koa';
import { oauthError } from '../errors/oauth.js';
import { ROUTES } from '../routes.js';

const PATHS = new Set<string>([
  ROUTES.oauth.token,
  ROUTES.oauth.introspection,
  ROUTES.oauth.revocation,
  ROUTES.oauth.pushed_authorization_request,
]);
// The same ceiling the library applies to the bodies it parses itself.
const LIMIT = 56 * 1024;

async function readBody(ctx: Context): Promise<Buffer | undefined> {
  const declared = ctx.request.length;
  if (declared !== undefined && declared > LIMIT) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > LIMIT) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

export async function multipartTokenShim(ctx: Context, next: Next): Promise<void> {
  if (ctx.method !== 'POST' || !PATHS.has(ctx.path) || !ctx.is('multipart/form-data')) return next();

  const body = await readBody(ctx);
  if (!body) return oauthError(ctx, 413, 'invalid_request', 'request body too large');

  let fields: FormData;
  try {
    // The WHATWG multipart parser built into Node (undici), fed the exact bytes and boundary.
    fields = await new Response(body, { headers: { 'content-type': ctx.get('content-type') } }).formData();
  } catch {
    return oauthError(ctx, 400, 'invalid_request', 'malformed multipart/form-data body');
  }

  const form = new URLSearchParams();
  for (const [name, value] of fields) {
    // The part's name is the client's text: kept out of error_description (RFC 6749 §5.2's character set).
    if (typeof value !== 'string') return oauthError(ctx, 400, 'invalid_request', 'file uploads are not accepted');
    form.append(name, value);
  }
  // The library reads the body from the request stream itself, so it gets a
  // request whose stream holds the re-encoded body (same socket, same URL).
  const encoded = Buffer.from(form.toString());
  const replay = new IncomingMessage(ctx.req.socket);
  replay.method = ctx.req.method;
  replay.url = ctx.req.url;
  replay.httpVersion = ctx.req.httpVersion;
  replay.headers = {
    ...ctx.req.headers,
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': String(encoded.length),
  };
  replay.complete = true; // or IncomingMessage destroys the socket once read
  replay.push(encoded);
  replay.push(null);
  ctx.req = ctx.request.req = replay;
  return next();
}
