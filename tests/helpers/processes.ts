// The real server as a child process (src/main.ts, what `npm start` runs),
// the command line as child processes, and the seed's code flow against any
// base URL. For tests that need what an in-process server cannot show:
// kill -9, SIGTERM, the start-up output, several nodes on one database.
//
// The server runs as `node --import tsx src/main.ts`: one process, so a
// signal reaches the server itself. (`node_modules/.bin/tsx src/main.ts`
// is a wrapper that starts the server as its own child: SIGKILL to the
// wrapper would leave the server running.) Or, built, exactly as `npm start`
// runs it (`npmStart()`).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Json } from './http.js';

export const ROOT = process.cwd();

/**
 * `npm run build`, then the node command `npm start` runs (package.json: its
 * V8 flags and dist/src/main.js), as arguments for `spawnServer`'s `args`.
 */
export function npmStart(): string[] {
  const built = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`);
  const start: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const command = /\bnode ((?:--\S+ )*)(dist\/\S+\.js)/.exec(start);
  if (!command) throw new Error(`no node command in npm start: ${start}`);
  return [...(command[1] ?? '').split(' ').filter(Boolean), command[2] as string];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Only what a server needs from the test's environment: no DATABASE_URL or the like leaks in. */
function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', HOST: '127.0.0.1' };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  base: string;
  port: number;
  child: ChildProcess;
  /** stdout and stderr, interleaved as they arrived. */
  output(): string;
  stdout(): string;
  /** Milliseconds from spawn to the first 200 from /healthz. */
  startMs: number;
  exited: Promise<Exit>;
  alive(): boolean;
  /** SIGTERM; SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<Exit>;
  kill9(): Promise<Exit>;
}

const children = new Set<ChildProcess>();

/** Every child this module started that is still running gets SIGKILL (afterAll safety net). */
export async function killAllChildren(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      waits.push(new Promise((resolve) => child.once('exit', resolve)));
      child.kill('SIGKILL');
    }
  }
  await Promise.all(waits);
  children.clear();
}

function track(child: ChildProcess): { output: () => string; stdout: () => string; exited: Promise<Exit> } {
  children.add(child);
  let output = '';
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return { output: () => output, stdout: () => stdout, exited };
}

/**
 * Starts src/main.ts (or `opts.args`) with `env` (PORT and ISSUER default to a free port);
 * resolves once /healthz answers 200, rejects with the output if it exits or
 * is not healthy within `healthTimeoutMs`.
 */
export async function spawnServer(
  env: Record<string, string>,
  opts: {
    healthTimeoutMs?: number;
    /** node's arguments; default: src/main.ts under tsx. */
    args?: string[];
  } = {},
): Promise<ServerProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const started = Date.now();
  const child = spawn(process.execPath, opts.args ?? ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...baseEnv(), PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { output, stdout, exited } = track(child);
  const base = `http://127.0.0.1:${port}`;
  const alive = () => child.exitCode === null && child.signalCode === null;
  const proc: ServerProcess = {
    base,
    port,
    child,
    output,
    stdout,
    startMs: NaN,
    exited,
    alive,
    async stop(graceMs = 10_000) {
      if (!alive()) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
    async kill9() {
      if (alive()) child.kill('SIGKILL');
      return exited;
    },
  };
  const deadline = started + (opts.healthTimeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (!alive())
      throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before it was healthy:\n${output()}`);
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) {
        proc.startMs = Date.now() - started;
        return proc;
      }
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  await exited;
  throw new Error(`server not healthy within ${opts.healthTimeoutMs ?? 20_000} ms:\n${output()}`);
}

/** `npm run --silent <command> -- <args>` with `env`; its stdout parsed as JSON. */
export async function cli(command: string, args: string[], env: Record<string, string>): Promise<Json> {
  const child = spawn('npm', ['run', '--silent', command, '--', ...args], {
    cwd: ROOT,
    env: { ...baseEnv(), LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { output, stdout, exited } = track(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exit = await exited;
  clearTimeout(timer);
  if (exit.code !== 0) throw new Error(`npm run ${command} exited ${exit.code ?? exit.signal}:\n${output()}`);
  return JSON.parse(stdout());
}

export interface Registered {
  client_id: string;
  client_secret: string;
  redirect_uris?: string[];
}
export interface Person {
  id: string;
  username: string;
  password: string;
  server_id: string;
}

let counter = 0;

/** A confidential client and an account, created with the command line. */
export async function cliClient(env: Record<string, string>, extra: string[] = []): Promise<Registered> {
  // A default redirect URI unless the caller chose redirect URIs or grant types itself.
  const custom =
    extra.includes('--redirect-uri') || extra.includes('--grant-type') || extra.includes('--resource-server');
  return cli(
    'client:create',
    ['--name', `client ${++counter}`, ...(custom ? [] : ['--redirect-uri', 'http://127.0.0.1:9999/cb']), ...extra],
    env,
  );
}

export async function cliUser(env: Record<string, string>): Promise<Person> {
  const username = `user${process.pid}_${++counter}`;
  const password = `pw-${counter}-correct horse battery`;
  const made = await cli(
    'user:create',
    ['--username', username, '--password', password, '--server-id', `srv-${counter}`],
    env,
  );
  return { ...made, password };
}

/** Runs `fn` over `items` with at most `concurrency` at once; results in input order. */
export async function pool<T, R>(
  items: T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

/** The promise's value, or 'timed out' after `ms` (the timer is cleared either way). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` every `everyMs` until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      if (await probe()) return Date.now() - started;
    } catch {
      // not yet
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
