// The one place where an error our code did not handle becomes a response.
// Koa's convention (and oidc-provider's): an error with `expose` carries a
// status and a message meant for the client; anything else is a bug or an
// outage, logged in full and answered with no detail at all.
import type { Context, Next } from 'koa';
import { isDatabaseUnavailable } from '../db/errors.js';
import { oauthError } from './oauth.js';

export interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
  code?: string;
}

/**
 * A request the client got wrong, as body parsers report it: a 4xx status
 * (exposed or not: raw-body's 415 for an unknown Content-Encoding is not), or
 * a decoder's complaint about a body that says it is compressed and is not.
 */
export function clientFault(err: unknown): { status: number; message: string } | undefined {
  const e = (err ?? {}) as HttpishError;
  const status = e.status ?? e.statusCode;
  if (status && status >= 400 && status < 500) {
    return {
      status,
      message:
        e.expose && e.message
          ? e.message
          : status === 415
            ? 'unsupported content encoding or type'
            : 'malformed request',
    };
  }
  // zlib (gzip, deflate) and brotli decoder errors.
  if (typeof e.code === 'string' && /^(Z_(DATA|BUF|STREAM)_ERROR|ERR__ERROR_FORMAT_\w+|ERR_BROTLI_\w+)$/.test(e.code))
    return { status: 400, message: 'request body does not decode' };
  return undefined;
}

/**
 * Answers the failure with a page instead of JSON, when the request is a
 * person's browser on a page meant for people; false to answer JSON.
 */
export type PageForPeople = (ctx: Context, status: number) => boolean;

export function errorHandler(log: (err: unknown, ctx: Context) => void, page: PageForPeople = () => false) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (raw) {
      if (isDatabaseUnavailable(raw)) {
        log(raw, ctx);
        ctx.set('retry-after', '5');
        if (page(ctx, 503)) return;
        return oauthError(ctx, 503, 'temporarily_unavailable', 'the service is temporarily unavailable');
      }
      const fault = clientFault(raw);
      if (fault) {
        if (page(ctx, fault.status)) return;
        return oauthError(ctx, fault.status, 'invalid_request', fault.message);
      }
      log(raw, ctx);
      if (page(ctx, 500)) return;
      return oauthError(ctx, 500, 'server_error');
    }
  };
}
