// Is this request a person's browser loading a page? Browsers navigating ask
// for text/html first (their Accept starts "text/html,…"); API clients, curl
// and fetch() ask for JSON or for anything (`*/*`), and get JSON. Used to
// answer failures on pages meant for people with a page, never OAuth JSON.
// A browser navigates only with GET, HEAD and POST (a link, an HTML form);
// any other method is a program, whatever it accepts.
import type { Context } from 'koa';
import { isForPeople } from '../routes.js';

export function wantsHtml(ctx: Context): boolean {
  return ['GET', 'HEAD', 'POST'].includes(ctx.method) && ctx.accepts('json', 'html') === 'html';
}

/** A browser loading a page meant for people (src/routes.ts, isForPeople). */
export function browserOnPeoplePage(ctx: Context): boolean {
  return isForPeople(ctx.path) && wantsHtml(ctx);
}
