// The service: bind the port, build the services on the prepared database
// (src/compose.ts), then serve and drain on SIGTERM (src/serve.ts). Run by
// src/start.ts in a single process, and in each of several workers
// (src/workers.ts), never in their primary.
import cluster from 'node:cluster';
import type { Config } from './config/index.js';
import type { Logger } from './log.js';
import { misplacedDemoClient, misplacedDemoClientWarning, seedDemo } from './setup.js';
import { compose } from './compose.js';
import { createApp } from './app.js';
import { closeDatabase } from './db/client.js';
import { purgeExpired } from './oidc/adapter.js';
import { drainOnSignals, handOver, listen } from './serve.js';
import { ROUTES } from './routes.js';
import { askPrimaryForMetrics, askRole, reportReady } from './workers.js';

export async function runServer(config: Config, root: Logger): Promise<void> {
  // Which worker logged a line (and answered a request) is worth knowing.
  const log = cluster.isWorker ? root.child({ pid: process.pid }) : root;
  // A single process is its own lead: it seeds and purges.
  const role = cluster.isWorker ? await askRole() : { lead: true };
  // Bound before anything is created: a port in use must not leave a demo
  // client behind registered for an address that never served.
  const server = await listen({ port: config.port, host: config.host, portSetting: 'PORT' });
  const services = await compose(config, log);
  if (cluster.isWorker) services.metrics.gatherFromCluster(askPrimaryForMetrics);

  if (config.seedDemo && role.lead) {
    await services.shop.seedItems();
    const demo = await seedDemo(config, services);
    if (demo) {
      // Printed once, on the first start: they are not stored anywhere readable.
      process.stdout.write(
        `\nFirst start: created a demo account and a demo client.\n` +
          `  user:                     ${demo.user.username} / ${demo.user.password}\n` +
          `  client_id:                ${demo.client.client_id}\n` +
          `  client_secret:            ${demo.client.client_secret}\n` +
          `  redirect_uri:             ${demo.client.redirect_uri}\n` +
          `  post_logout_redirect_uri: ${demo.client.post_logout_redirect_uri}\n` +
          `Try: ${config.issuer}${ROUTES.oauth.authorization}?response_type=code&client_id=${demo.client.client_id}&scope=profile%20buy%20buy_history&state=unique_state_code\n` +
          `Console: ${config.issuer}${ROUTES.home} (sign in as ${demo.user.username}, or create an account, and make clients of your own)\n\n`,
      );
    } else {
      const misplaced = await misplacedDemoClient(config, services);
      if (misplaced) process.stderr.write(misplacedDemoClientWarning(config, misplaced));
    }
  }

  const app = createApp(services);
  // Staged, activated and retired signing keys reach this node within
  // KEY_REFRESH_INTERVAL, no restart (README, "Signing keys and their rotation").
  services.keyRefresh.start(log);

  const purge =
    config.purgeInterval && role.lead
      ? setInterval(() => {
          Promise.all([purgeExpired(services.database.queries), services.consents.forgetExpired()]).then(
            ([count, consents]) => (count || consents) && log.info({ count, consents }, 'purged expired artifacts'),
            (err: unknown) => log.warn({ err }, 'purge failed; will retry'),
          );
        }, config.purgeInterval * 1000).unref()
      : undefined;

  handOver(server, app.callback());
  drainOnSignals(server, log, async () => {
    clearInterval(purge);
    await services.keyRefresh.stop();
    await closeDatabase(services.database);
  });
  log.info({ issuer: config.issuer, address: server.address() }, 'listening');
  if (cluster.isWorker) reportReady();
}
