// The service: read the configuration, prepare the database, listen, and
// drain on SIGTERM (src/serve.ts). The only module with side effects at start.
import { loadDotEnv, loadConfig, ConfigError } from './config/index.js';
import { createLogger } from './log.js';
import { appDeps, prepare, seedDemo } from './setup.js';
import { createApp } from './app.js';
import { purgeExpired } from './oidc/adapter.js';
import { closeDatabase } from './db/client.js';
import { serve } from './serve.js';

async function main(): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const prepared = await prepare(config);

  if (config.seedDemo) {
    await prepared.shop.seedItems();
    const demo = await seedDemo(config, prepared);
    if (demo) {
      // Printed once, on the first start: they are not stored anywhere readable.
      process.stdout.write(
        `\nFirst start: created a demo account and a demo client.\n` +
          `  user:          ${demo.user.username} / ${demo.user.password}\n` +
          `  client_id:     ${demo.client.client_id}\n` +
          `  client_secret: ${demo.client.client_secret}\n` +
          `  redirect_uri:  ${demo.client.redirect_uri}\n` +
          `Try: ${config.issuer}/oauth/authorize?response_type=code&client_id=${demo.client.client_id}&scope=profile%20buy%20buy_history&state=unique_state_code\n\n`,
      );
    }
  }

  const app = createApp(appDeps(config, prepared, log));
  // Staged, activated and retired signing keys reach this node within
  // KEY_REFRESH_INTERVAL, no restart (README, "Signing keys and their rotation").
  prepared.keyRefresh.start(log);

  const purge = config.purgeInterval
    ? setInterval(() => {
        purgeExpired(prepared.database.queries).then(
          (count) => count && log.info({ count }, 'purged expired artifacts'),
          (err: unknown) => log.warn({ err }, 'purge failed; will retry'),
        );
      }, config.purgeInterval * 1000).unref()
    : undefined;

  const server = await serve(app.callback(), config, log, async () => {
    clearInterval(purge);
    await prepared.keyRefresh.stop();
    await closeDatabase(prepared.database);
  });
  log.info({ issuer: config.issuer, address: server.address() }, 'listening');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
