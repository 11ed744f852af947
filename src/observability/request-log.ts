// One JSON log line per request, with a request id that is echoed to the
// client (X-Request-Id) and kept if a trusted caller sent a sane one. Only
// the method, the route template (never the path itself: interaction ids
// are cookie values, and no query string, which carries codes and state),
// status and duration are logged: no header, no body, no parameter.
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../log.js';
import { routeOf, type Metrics } from './metrics.js';

const SANE_ID = /^[\w.-]{1,64}$/;

export function requestLog(log: Logger, metrics: Metrics, trustRequestId: boolean) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const incoming = ctx.get('x-request-id');
    const id = trustRequestId && SANE_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = id;
    ctx.set('x-request-id', id);
    const start = process.hrtime.bigint();
    // Before anything rewrites the URL (the RFC 8414 alias does).
    const route = routeOf(ctx.path);
    try {
      await next();
    } finally {
      // With the provider, Koa's own ctx.status is not what was sent: read the response.
      const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.requests.inc({ method: ctx.method, route, status });
      metrics.latency.observe({ method: ctx.method, route, status }, seconds);
      log.info({ reqId: id, method: ctx.method, route, status, ms: Math.round(seconds * 10000) / 10 }, 'request');
    }
  };
}

/**
 * How a request that failed is logged, by the app, the provider and the API
 * alike: the error, and the request's id, method and route (never its path).
 */
export function requestErrorLogger(log: Logger): (err: unknown, ctx?: Context) => void {
  return (err, ctx) =>
    log.error(
      { err, reqId: ctx?.state?.requestId, method: ctx?.method, route: ctx ? routeOf(ctx.path) : undefined },
      'request failed',
    );
}
