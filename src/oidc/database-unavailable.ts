// The library catches every error inside its own Koa app and answers 500
// server_error; when the cause is the database being out of reach, the
// truthful answer is 503 temporarily_unavailable with Retry-After, the same as
// the rest of our app gives (src/errors/handler.ts). Errors thrown by our own
// provider.use middleware (the client-auth throttle) are caught here; those
// the library catches are reported through its 'server_error' event, which
// marks the request so that its 500 answer is rewritten on the way out.
import type { Context, Next } from 'koa';
import { isDatabaseUnavailable } from '../db/errors.js';
import { oauthError } from '../errors/oauth.js';
import type { PageForPeople } from '../errors/handler.js';

const DOWN = Symbol('database unavailable');
type Marked = Context & { [DOWN]?: boolean };

export function markIfDatabaseUnavailable(ctx: Context, err: unknown): void {
  if (isDatabaseUnavailable(err)) (ctx as Marked)[DOWN] = true;
}

/** `page` answers a person's browser on a page meant for people with a page; false for JSON. */
export function databaseUnavailable(page: PageForPeople = () => false) {
  return async function answerUnavailable(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      (ctx as Marked)[DOWN] = true;
    }
    if ((ctx as Marked)[DOWN]) {
      ctx.set('retry-after', '5');
      if (page(ctx, 503)) return;
      oauthError(ctx, 503, 'temporarily_unavailable', 'the service is temporarily unavailable');
    }
  };
}
