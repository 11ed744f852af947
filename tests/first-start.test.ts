// A newcomer's first hour, over real processes: what `npm start` says when
// the machine is not ready for it (wrong Node.js, port taken, a path it cannot
// write), and what it says when PORT changes under an existing database.
// Each refusal is one line on stderr, no stack trace, and an exit code of its
// own (README, "Settings": 3, 4, 5).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { REQUIRED_NODE_MAJOR } from '../src/startup/node-version.js';
import { ROOT, freePort, killAllChildren, spawnServer, type ServerProcess } from './helpers/processes.js';
import { STACK_FRAME, type Json } from './helpers/http.js';
import { testDatabase, type TestDatabase } from './helpers/database.js';

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` to its end (SIGKILL after `timeoutMs`), with only `env` and a PATH. */
function run(command: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { HOME: process.env.HOME ?? '/tmp', PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // 'exit' can come before the pipes are drained.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
}

/** `node --import tsx src/main.ts`, what `npm run dev` runs, with `node` as given. */
const startServer = (env: Record<string, string>, node = process.execPath) =>
  run(node, ['--import', 'tsx', 'src/main.ts'], env);

/** A refusal: exactly one line on stderr, no stack trace anywhere, and `code`. */
function expectOneLine(result: Finished, code: number, line: RegExp): void {
  expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({
    code,
    signal: null,
    stderr: expect.stringMatching(line),
  });
  expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(`${result.stdout}${result.stderr}`).not.toMatch(STACK_FRAME);
}

/** A Node.js 20 on this machine: `which -a node`, then the usual places. The test needs one. */
function findNode20(): string | undefined {
  const onPath = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'node'));
  for (const candidate of [...onPath, '/usr/bin/node', '/usr/local/bin/node', '/bin/node']) {
    if (!existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['-v'], { encoding: 'utf8' }).stdout?.trim();
    if (version?.startsWith('v20.')) return candidate;
  }
  return undefined;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'first-start-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
afterAll(() => killAllChildren());

const storage = () => ({ DATA_DIR: join(dir, 'data'), DATABASE_URL: `file:${join(dir, 'data', 'oidc.db')}` });

describe('the wrong Node.js', () => {
  const node20 = findNode20();

  test('the required major is the one package.json "engines" and .nvmrc name', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Json;
    expect(pkg.engines.node).toBe(`>=${REQUIRED_NODE_MAJOR} <${REQUIRED_NODE_MAJOR + 1}`);
    expect(readFileSync(join(ROOT, '.nvmrc'), 'utf8').trim()).toBe(String(REQUIRED_NODE_MAJOR));
  });

  test('the server under Node 20 → one line saying which Node is needed and how to get it, exit 3, no segmentation fault', async () => {
    if (!node20)
      throw new Error(
        'no Node.js 20 found (which -a node, /usr/bin/node, /usr/local/bin/node): this test needs one to run the server under',
      );
    const result = await startServer({ PORT: String(await freePort()), ...storage() }, node20);
    expectOneLine(
      result,
      3,
      /^cannot start: this project needs Node\.js 24, and \S+ is v20\.\d+\.\d+\. Get it with `npm install --prefix \/opt\/node24 node@24`/,
    );
    expect(result.stderr).toContain(node20);
    // Nothing of the server was loaded: not the library's runtime warning, no database.
    expect(result.stderr).not.toMatch(/Unsupported runtime|Segmentation fault/);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  }, 60_000);

  test('`npm start` under Node 20 (its npm, its node first on PATH) → the same line and exit 3', async () => {
    if (!node20)
      throw new Error(
        'no Node.js 20 found (which -a node, /usr/bin/node, /usr/local/bin/node): this test needs one to run npm start under',
      );
    const bin = node20.slice(0, node20.lastIndexOf('/'));
    const result = await run(
      'npm',
      ['start'],
      { PATH: `${bin}${delimiter}/usr/bin${delimiter}/bin`, PORT: String(await freePort()), ...storage() },
      120_000,
    );
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 3, signal: null });
    const ours = result.stderr.split('\n').filter((l) => l.startsWith('cannot start:'));
    expect(ours).toEqual([expect.stringMatching(/^cannot start: this project needs Node\.js 24, and \S+ is v20\./)]);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/Unsupported runtime|Segmentation fault/);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(STACK_FRAME);
  }, 120_000);

  test('a command-line script under Node 20 → the same line and exit 3', async () => {
    if (!node20) throw new Error('no Node.js 20 found: this test needs one');
    const bin = node20.slice(0, node20.lastIndexOf('/'));
    const result = await run('npm', ['run', '--silent', 'keys:rotate'], {
      PATH: `${bin}${delimiter}/usr/bin${delimiter}/bin`,
      ...storage(),
    });
    expectOneLine(result, 3, /^cannot start: this project needs Node\.js 24, and \S+ is v20\./);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  }, 60_000);
});

describe('a port in use', () => {
  let taken: Server;
  let port: number;
  beforeEach(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as { port: number }).port;
  });
  afterEach(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  test('→ one line naming the port and the PORT setting, exit 4, and nothing created (no demo client for an address never served)', async () => {
    const result = await startServer({ PORT: String(port), ...storage() });
    expectOneLine(
      result,
      4,
      new RegExp(
        `^cannot start: port ${port} \\(PORT\\) on 127\\.0\\.0\\.1 is already in use by another program; stop it, or start on another port, e\\.g\\. PORT=\\d+ npm start\\n$`,
      ),
    );
    expect(result.stdout).not.toMatch(/First start/);
    expect(existsSync(join(dir, 'data', 'oidc.db'))).toBe(false);
  }, 60_000);

  test('the API on its own → the same, naming API_PORT', async () => {
    const result = await run(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
      API_PORT: String(port),
      INTROSPECTION_CLIENT_ID: 'api',
      INTROSPECTION_CLIENT_SECRET: 'secret',
      ...storage(),
    });
    expectOneLine(
      result,
      4,
      new RegExp(`^cannot start: port ${port} \\(API_PORT\\) on 127\\.0\\.0\\.1 is already in use`),
    );
  }, 60_000);
});

describe('paths the server cannot write (as root too: a path through a regular file)', () => {
  test('DATA_DIR under a file → one line naming DATA_DIR and the path, exit 5', async () => {
    const result = await startServer({
      PORT: String(await freePort()),
      DATA_DIR: '/etc/passwd/x',
      DATABASE_URL: `file:${join(dir, 'oidc.db')}`,
    });
    expectOneLine(
      result,
      5,
      /^cannot start: DATA_DIR \/etc\/passwd\/x cannot be read and written: a part of the path is a file, not a directory \(ENOTDIR\); point DATA_DIR at a directory this user may write, or set COOKIE_KEYS and SECRET_KEY\n$/,
    );
  }, 60_000);

  test('a SQLite DATABASE_URL under a file → one line naming DATABASE_URL and the path, exit 5', async () => {
    const result = await startServer({
      PORT: String(await freePort()),
      DATA_DIR: join(dir, 'data'),
      DATABASE_URL: 'file:/etc/passwd/oidc.db',
    });
    expectOneLine(
      result,
      5,
      /^cannot start: the SQLite database \/etc\/passwd\/oidc\.db \(DATABASE_URL\) cannot be read and written: a part of the path is a file, not a directory \(E\w+\); point DATABASE_URL at file:/,
    );
  }, 60_000);

  test('a SQLite DATABASE_URL that is a directory → one line, exit 5', async () => {
    mkdirSync(join(dir, 'oidc.db'));
    const result = await startServer({
      PORT: String(await freePort()),
      DATA_DIR: join(dir, 'data'),
      DATABASE_URL: `file:${join(dir, 'oidc.db')}`,
    });
    expectOneLine(
      result,
      5,
      /^cannot start: the SQLite database \S+oidc\.db \(DATABASE_URL\) cannot be read and written: it is a directory, not a file \(EISDIR\)/,
    );
  }, 60_000);

  test('DATA_DIR is not needed, so not checked, when COOKIE_KEYS and SECRET_KEY are given', async () => {
    const server = await spawnServer({
      DATA_DIR: '/etc/passwd/x',
      DATABASE_URL: `file:${join(dir, 'oidc.db')}`,
      COOKIE_KEYS: 'k'.repeat(32),
      SECRET_KEY: 's'.repeat(32),
      SEED_DEMO: 'false',
    });
    expect(server.alive()).toBe(true);
    await server.stop();
  }, 60_000);
});

describe('PORT alone moves the issuer', () => {
  test('ISSUER defaults to http://127.0.0.1:$PORT; ISSUER wins when set; HOST does not change it', () => {
    expect(loadConfig({ PORT: '5050' }).issuer).toBe('http://127.0.0.1:5050');
    expect(loadConfig({}).issuer).toBe('http://127.0.0.1:5000');
    expect(loadConfig({ PORT: '5050', HOST: '0.0.0.0' }).issuer).toBe('http://127.0.0.1:5050');
    expect(loadConfig({ PORT: '5050', ISSUER: 'https://id.example.com/' }).issuer).toBe('https://id.example.com');
    expect(loadConfig({ PORT: '5050', ISSUER: '' }).issuer).toBe('http://127.0.0.1:5050');
  });

  let first: ServerProcess | undefined;
  let again: ServerProcess | undefined;
  // The first start's demo on whichever database the suite runs on (TEST_DATABASE).
  let database: TestDatabase | undefined;
  const onDatabase = () => ({ DATA_DIR: join(dir, 'data'), DATABASE_URL: database!.url });
  beforeEach(async () => {
    database = await testDatabase(join(dir, 'data'), 'oidc.db');
  });
  afterEach(async () => {
    await first?.stop();
    await again?.stop();
    first = again = undefined;
    await database?.drop();
  });

  test("with only PORT set: discovery's issuer and every endpoint, the printed demo client, the Try: URL and the console's address are on that port", async () => {
    const port = await freePort();
    first = await spawnServer({ PORT: String(port), ISSUER: '', ...onDatabase() });
    const base = `http://127.0.0.1:${port}`;
    const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as Json;
    expect(discovery.issuer).toBe(base);
    const urls = Object.entries(discovery).filter(
      ([key, value]) => /(_endpoint|_uri)$/.test(key) && typeof value === 'string',
    );
    expect(urls.map(([key]) => key)).toEqual(
      expect.arrayContaining([
        'authorization_endpoint',
        'token_endpoint',
        'jwks_uri',
        'userinfo_endpoint',
        'introspection_endpoint',
      ]),
    );
    for (const [key, value] of urls) expect(`${key}: ${value as string}`).toMatch(new RegExp(`^${key}: ${base}/`));
    expect(first.stdout()).toMatch(new RegExp(`\\n  redirect_uri: +${base}/demo/callback\\n`));
    expect(first.stdout()).toMatch(new RegExp(`\\nTry: ${base}/oauth/authorize\\?response_type=code&client_id=`));
    // The demo client was registered for this port: the Try: URL's sign-in comes back here.
    const tryUrl = /Try: (\S+)/.exec(first.stdout())![1]!;
    const authorize = await fetch(tryUrl, { redirect: 'manual' });
    expect(authorize.status).toBe(303);
    expect(authorize.headers.get('location')).toMatch(/^\/interaction\//);
    // And the console's address, where the demo user signs in too.
    const consoleUrl = /\nConsole: (\S+) \(sign in as demo,/.exec(first.stdout())?.[1];
    expect(consoleUrl).toBe(`${base}/`);
    const home = await fetch(consoleUrl!, { headers: { accept: 'text/html' } });
    expect([home.status, home.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
  }, 60_000);

  test("started again on another PORT, the same database: a warning names the demo client's old redirect URI and the command that fixes it; on its own port, no warning", async () => {
    const port = await freePort();
    first = await spawnServer({ PORT: String(port), ISSUER: '', ...onDatabase() });
    const clientId = /client_id:\s+(\S+)/.exec(first.stdout())![1]!;
    await first.stop();

    const other = await freePort();
    again = await spawnServer({ PORT: String(other), ISSUER: '', ...onDatabase() });
    const warnings = again
      .output()
      .split('\n')
      .filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([
      `warning: the demo client (client_id ${clientId}) was registered on the first start with redirect URI http://127.0.0.1:${port}/demo/callback, but this server is now http://127.0.0.1:${other}; sign-ins with that client are sent back to the old address.`,
      `warning: register a client for this address: npm run --silent client:create -- --name "Demo client" --redirect-uri http://127.0.0.1:${other}/demo/callback (or start on a fresh database, another DATABASE_URL, to get a new demo account and client)`,
    ]);
    expect(again.stdout()).not.toMatch(/First start/);
    await again.stop();

    again = await spawnServer({ PORT: String(port), ISSUER: '', ...onDatabase() });
    expect(again.output()).not.toMatch(/warning:/);
  }, 90_000);
});
