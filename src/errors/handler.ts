// The one place where an error our code did not handle becomes a response.
// Koa's convention (and oidc-provider's): an error with `expose` carries a
// status and a message meant for the client; anything else is a bug or an
// outage, logged in full and answered with no detail at all.
import type { Context, Next } from 'koa';
import { oauthError } from './oauth.js';

export interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
  code?: string;
}

const DB_DOWN = /SQLITE_(BUSY|CANTOPEN|IOERR|READONLY|CORRUPT|NOTADB)|ECONNREFUSED|P1001|P1002|P1017|P2024|unable to open database|Can't reach database/;

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as HttpishError | undefined;
  return !!e && DB_DOWN.test(`${e.code ?? ''} ${e.message ?? ''}`);
}

export function errorHandler(log: (err: unknown, ctx: Context) => void) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (raw) {
      const err = (raw ?? {}) as HttpishError;
      const status = err.status ?? err.statusCode ?? 500;
      if (isDatabaseUnavailable(raw)) {
        log(raw, ctx);
        ctx.set('retry-after', '5');
        return oauthError(ctx, 503, 'temporarily_unavailable', 'the service is temporarily unavailable');
      }
      if (err.expose && status >= 400 && status < 500) {
        // Body-parser and router errors (413, 415, 400, 405): the client's fault, safe to say.
        return oauthError(ctx, status, 'invalid_request', err.message);
      }
      log(raw, ctx);
      return oauthError(ctx, 500, 'server_error');
    }
  };
}
