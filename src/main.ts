// The service: read the configuration, prepare the database, listen, and
// drain on SIGTERM. The only module with side effects at start.
import { createServer } from 'node:http';
import { loadDotEnv, loadConfig, ConfigError } from './config/index.js';
import { createLogger } from './log.js';
import { appDeps, prepare, seedDemo } from './setup.js';
import { createApp } from './app.js';
import { purgeExpired } from './oidc/adapter.js';

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

  const server = createServer(app.callback());
  // Keep-alive longer than typical proxies' idle timeout, so they close first.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const address = server.address();
  log.info({ issuer: config.issuer, address }, 'listening');

  const purge = config.purgeInterval
    ? setInterval(() => {
        purgeExpired(prepared.database.db).then(
          (count) => count && log.info({ count }, 'purged expired artifacts'),
          (err: unknown) => log.warn({ err }, 'purge failed; will retry'),
        );
      }, config.purgeInterval * 1000).unref()
    : undefined;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(purge);
    log.info({ signal }, 'draining');
    const force = setTimeout(() => {
      log.warn('drain timed out; closing remaining connections');
      server.closeAllConnections();
    }, 10_000);
    force.unref();
    const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
    server.close();
    // Keep-alive connections go idle only once their request is answered:
    // close each as soon as it does, and tell clients not to reuse them.
    server.on('request', (_req, res) => res.setHeader('connection', 'close'));
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    server.closeIdleConnections();
    await closed;
    clearInterval(sweep);
    await prepared.database.db.$disconnect();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
