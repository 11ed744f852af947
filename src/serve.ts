// Listening and draining, for the server and for the API on its own.
//
// The port is bound first, before the database is touched, so that a port
// in use stops the start before anything is created (a first start would
// otherwise record its demo client for an address it never served); until
// the app is handed over, every request is answered 503 "starting".
//
// On SIGTERM or SIGINT: stop accepting, let requests in flight finish (keep-alive
// connections are closed as soon as they go idle), run `cleanup`, exit 0;
// after 10 s whatever is left is cut.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Logger } from './log.js';
import { EXIT, StartupError } from './startup/exit-codes.js';

export interface ListenAt {
  port: number;
  host: string;
  /** The setting that chose the port, named when it cannot be bound. */
  portSetting: 'PORT' | 'API_PORT';
}

function starting(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store', 'retry-after': '1' });
  res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'the server is starting' }));
}

/** Why `listen` failed, in words that say what to change; undefined for anything unexpected. */
function cannotListen(err: NodeJS.ErrnoException, { port, host, portSetting }: ListenAt): StartupError | undefined {
  const say = (message: string) => new StartupError(message, EXIT.cannotListen);
  switch (err.code) {
    case 'EADDRINUSE':
      return say(
        `port ${port} (${portSetting}) on ${host} is already in use by another program; stop it, or start on another port, e.g. ${portSetting}=${port === 5050 ? 5051 : 5050} npm start` +
          (port === 5000 && process.platform === 'darwin'
            ? ' (on macOS the AirPlay Receiver uses 5000: System Settings > General > AirDrop & Handoff)'
            : ''),
      );
    case 'EACCES':
      return say(
        `not allowed to listen on port ${port} (${portSetting}) on ${host}; ports below 1024 need privileges: choose ${portSetting}=1024 or above`,
      );
    case 'EADDRNOTAVAIL':
      return say(
        `HOST=${host} is not an address of this machine; use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return say(`HOST=${host} is not a name this machine can resolve; use 127.0.0.1 or 0.0.0.0`);
    default:
      return undefined;
  }
}

/**
 * Connections the kernel may hold before we accept them. Node's default,
 * 511, overflows when a burst opens thousands at once: the kernel drops or
 * resets the rest, and their clients retry after 1, 3, 7 s… Linux caps this
 * at net.core.somaxconn (4096 by default since 5.4).
 */
const BACKLOG = 4096;

/** Binds HOST:PORT; requests get 503 "starting" until `handOver`. */
export async function listen(where: ListenAt): Promise<Server> {
  const server = createServer(starting);
  // Keep-alive longer than typical proxies' idle timeout, so they close first.
  server.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: where.port, host: where.host, backlog: BACKLOG }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw cannotListen(err as NodeJS.ErrnoException, where) ?? err;
  }
  return server;
}

/** From now on `handler` answers every request. */
export function handOver(server: Server, handler: RequestListener): void {
  server.off('request', starting);
  server.on('request', discardUnreadBody);
  server.on('request', handler);
}

/**
 * A body refused as too large (by the library's parser or @koa/bodyparser:
 * raw-body stops and pauses the request) is left half read, and Node reads
 * the next request on a keep-alive connection only once this one's body
 * has been consumed: the client's next request on it would hang until the
 * connection times out, then be reset. Once answered, the rest is read and
 * dropped, as Node does for a body no handler read.
 */
function discardUnreadBody(req: IncomingMessage, res: ServerResponse): void {
  res.once('finish', () => {
    if (!req.complete) req.resume();
  });
}

export function drainOnSignals(server: Server, log: Logger, cleanup: () => Promise<void>): void {
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
}

/** listen, handOver and drainOnSignals in one, for a process with nothing to prepare after binding. */
export async function serve(
  handler: RequestListener,
  where: ListenAt,
  log: Logger,
  cleanup: () => Promise<void>,
): Promise<Server> {
  const server = await listen(where);
  handOver(server, handler);
  drainOnSignals(server, log, cleanup);
  return server;
}
