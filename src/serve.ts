// Listening and draining, for the server and for the API on its own. On
// SIGTERM or SIGINT: stop accepting, let requests in flight finish (keep-alive
// connections are closed as soon as they go idle), run `cleanup`, exit 0;
// after 10 s whatever is left is cut.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Logger } from './log.js';

export async function serve(
  handler: RequestListener,
  where: { port: number; host: string },
  log: Logger,
  cleanup: () => Promise<void>,
): Promise<Server> {
  const server = createServer(handler);
  // Keep-alive longer than typical proxies' idle timeout, so they close first.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(where.port, where.host, resolve));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
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
    try {
      await cleanup();
    } catch (err) {
      log.warn({ err }, 'cleanup after drain failed');
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  return server;
}
