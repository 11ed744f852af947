// What this process is, from the configuration: the server itself (one
// process, or one of several workers), or the primary of several workers.
// The primary forks the workers and forwards metrics scrapes between them;
// it never serves a request or opens the database, so it imports nothing but
// the configuration, the logger and node:cluster (src/workers.ts). The
// server's modules (the provider, Prisma, the views) are imported by the
// processes that serve, after this choice: a primary that loaded them too
// would hold their memory for nothing.
import cluster from 'node:cluster';
import { ConfigError, loadConfig, loadDotEnv } from './config/index.js';
import { createLogger } from './log.js';
import { exitForFailedStart } from './startup/exit-codes.js';
import { runPrimary } from './workers.js';

async function start(): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config.workers, log);
  const { runServer } = await import('./server.js');
  await runServer(config, log);
}

start().catch((err: unknown) => exitForFailedStart(err, (e) => e instanceof ConfigError));
