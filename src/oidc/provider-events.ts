// What the provider reports through its events: the errors it handled itself
// go to the log, issued tokens and client authentication failures to the
// metrics. Wired once per node, by the composition root (src/compose.ts),
// through the holder's wire() so that every provider a key change swaps in
// reports the same way; wired per app, a second app on one provider would
// count and log everything twice.
import type Koa from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../log.js';
import type { Metrics } from '../observability/metrics.js';
import { requestErrorLogger } from '../observability/request-log.js';
import type { ProviderHolder } from './provider-holder.js';

export function reportProviderEvents(holder: ProviderHolder, log: Logger, metrics: Metrics): void {
  const logError = requestErrorLogger(log);
  const countClientAuthFailure = (_ctx: KoaContextWithOIDC, err: { error?: string }) => {
    if (err.error === 'invalid_client') metrics.clientAuthFailures.inc();
  };
  holder.wire((current) => {
    // Errors the library handles itself are reported here; never print them raw.
    current.on('server_error', (ctx: Koa.Context, err: unknown) => logError(err, ctx));
    // Provider is a Koa app; its types only list the library's own events, so
    // reach Koa's 'error' event through the Koa type. A listener here also
    // stops Koa from printing the stack to stderr.
    (current as unknown as Koa).on('error', (err: unknown, ctx?: Koa.Context) => logError(err, ctx));
    current.on('grant.success', (ctx: KoaContextWithOIDC) =>
      metrics.tokensIssued.inc({ grant_type: String(ctx.oidc.params?.grant_type) }),
    );
    current.on('grant.error', countClientAuthFailure);
    current.on('introspection.error', countClientAuthFailure);
    current.on('revocation.error', countClientAuthFailure);
    current.on('pushed_authorization_request.error', countClientAuthFailure);
  });
}
