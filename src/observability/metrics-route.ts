// GET /metrics in Prometheus' text format; behind a bearer token when
// METRICS_TOKEN is set (compared in constant time). With several workers the
// answer sums all of them (Metrics.gatherFromCluster).
import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { Metrics } from './metrics.js';

export function metricsRoute(metrics: Metrics, token?: string) {
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  return async (ctx: Context) => {
    if (expected) {
      const given = Buffer.from(ctx.get('authorization'));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        ctx.status = 401;
        ctx.set('www-authenticate', 'Bearer realm="metrics"');
        ctx.body = { error: 'invalid_token', error_description: 'metrics need the METRICS_TOKEN bearer token' };
        return;
      }
    }
    let text: string;
    try {
      text = await metrics.text();
    } catch {
      // Several workers: one did not answer the primary in time (it is
      // starting, or stuck); a scrape that skipped it would under-count.
      ctx.status = 503;
      ctx.set('retry-after', '5');
      ctx.body = { error: 'temporarily_unavailable', error_description: 'the workers metrics could not be gathered' };
      return;
    }
    ctx.type = metrics.registry.contentType;
    ctx.body = text;
  };
}
