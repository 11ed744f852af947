// The command line as an operator runs it: `npm run --silent <command> -- ...`
// in child processes against one SQLite file, then the server started on that
// same file accepts what the CLI created.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../src/setup.js';
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize, isPage } from './helpers/user-agent.js';

const dir = mkdtempSync(join(tmpdir(), 'oidc-cli-'));
const dbEnv = { DATABASE_URL: `file:${join(dir, 'cli.db')}`, DATA_DIR: dir, LOG_LEVEL: 'silent' };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run --silent <command> -- <args>` from the project root, as a user types it. */
function cli(command: string, args: string[] = []): Promise<Run> {
  // The shell a user types in: none of jest's settings, only ours.
  const env: NodeJS.ProcessEnv = { ...process.env, ...dbEnv };
  for (const name of ['NODE_OPTIONS', 'NODE_ENV', 'SECRET_KEY', 'COOKIE_KEYS', 'ISSUER', 'PORT']) delete env[name];
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', command, '--', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The whole of stdout must be one JSON document. */
function json(run: Run): Record<string, unknown> {
  if (run.code !== 0) throw new Error(`exit ${run.code}; stderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

const USER = { username: 'cli.alice', password: 'cli-alice correct horse', serverId: 'srv_cli_1', email: 'alice@example.com' };
const FLOW_REDIRECT = 'http://127.0.0.1:9999/cli/cb';

let flowClient: Record<string, unknown>;
let user: Record<string, unknown>;
let userRun: Run;

beforeAll(async () => {
  // Sequential: the first run creates the database and DATA_DIR/secrets.json.
  flowClient = json(await cli('client:create', ['--name', 'CLI shop', '--redirect-uri', FLOW_REDIRECT]));
  userRun = await cli('user:create', [
    '--username', USER.username, '--password', USER.password, '--server-id', USER.serverId, '--email', USER.email,
  ]);
  user = json(userRun);
}, 60_000);

let server: TestServer | undefined;
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('client:create prints only the new client as one JSON document, with its id and secret', async () => {
  expect(flowClient).toMatchObject({
    client_id: expect.stringMatching(/^[\w-]{16,}$/),
    client_secret: expect.stringMatching(/^[\w-]{32,}$/),
    client_name: 'CLI shop',
    redirect_uris: [FLOW_REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  });
});

test('client:create takes several redirect URIs, a scope, grant types and an auth method', async () => {
  const run = await cli('client:create', [
    '--name', 'Two-URI app',
    '--redirect-uri', 'https://app.example.com/cb',
    '--redirect-uri', 'http://127.0.0.1:9999/second',
    '--scope', 'profile buy',
    '--grant-type', 'authorization_code',
    '--grant-type', 'refresh_token',
    '--grant-type', 'client_credentials',
    '--auth-method', 'client_secret_post',
  ]);
  const client = json(run);
  expect(client).toMatchObject({
    client_id: expect.stringMatching(/^[\w-]{16,}$/),
    client_secret: expect.stringMatching(/^[\w-]{32,}$/),
    client_name: 'Two-URI app',
    redirect_uris: ['https://app.example.com/cb', 'http://127.0.0.1:9999/second'],
    scope: 'profile buy',
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_method: 'client_secret_post',
  });
  expect(client.client_id).not.toBe(flowClient.client_id);
});

test('client:create --auth-method none makes a public client with no secret', async () => {
  const client = json(await cli('client:create', ['--name', 'SPA', '--redirect-uri', 'http://127.0.0.1:9999/spa', '--auth-method', 'none']));
  expect(client).toMatchObject({ client_id: expect.any(String), token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1:9999/spa'] });
  expect(client).not.toHaveProperty('client_secret');
});

test('user:create prints the account with its server_id, and never the password or a hash of it', async () => {
  expect(user).toEqual({
    id: expect.stringMatching(/\S/),
    username: USER.username,
    server_id: USER.serverId,
    email: USER.email,
    name: null,
  });
  expect(userRun.stdout).not.toContain(USER.password);
  expect(userRun.stdout).not.toMatch(/scrypt|hash|password/i);
  expect(userRun.stderr).not.toContain(USER.password);
});

test('user:create without --server-id gives the account a generated server_id', async () => {
  const created = json(await cli('user:create', ['--username', 'cli.bob', '--password', 'bob-password-123']));
  expect(created).toMatchObject({ username: 'cli.bob', server_id: expect.stringMatching(/^\S+$/) });
});

// The codes src/cli/main.ts documents: options the parser rejects exit 2;
// values the client or account rules reject exit 1.
describe.each([
  ['client:create without --name', 'client:create', ['--redirect-uri', 'http://127.0.0.1:9999/cb'], /--name/, 2],
  ['client:create with an unknown option', 'client:create', ['--name', 'X', '--redirect-uri', 'http://127.0.0.1:9999/cb', '--colour', 'blue'], /--colour/, 2],
  ['client:create with a bad --auth-method', 'client:create', ['--name', 'X', '--redirect-uri', 'http://127.0.0.1:9999/cb', '--auth-method', 'private_key_jwt'], /--auth-method.*client_secret_basic/, 2],
  ['client:create with a redirect URI that is not a URL', 'client:create', ['--name', 'X', '--redirect-uri', 'not a url'], /redirect_uri/, 1],
  // The server offers `code` only unless IMPLICIT_AND_HYBRID=true (tests/response-types.test.ts).
  ['client:create with a response type the server does not offer', 'client:create', ['--name', 'X', '--redirect-uri', 'https://rp.example/cb', '--response-type', 'code id_token'], /^error: response type 'code id_token' is not offered by this server; it offers 'code' \(IMPLICIT_AND_HYBRID=true adds it\)$/m, 1],
  ['user:create with a username that is taken', 'user:create', ['--username', USER.username, '--password', 'another-long-password'], /cli\.alice.*taken|taken.*cli\.alice/, 1],
  ['user:create with a short password', 'user:create', ['--username', 'cli.carol', '--password', 'short'], /password.*8/, 1],
] as const)('%s', (_title, command, args, message, exitCode) => {
  test('says why on stderr, exits non-zero, prints nothing on stdout', async () => {
    const run = await cli(command, [...args]);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    // A message for a person, not a stack trace or a crash report.
    expect(run.stderr).not.toMatch(/^\s+at |Assertion failed|Native stack trace/m);
    expect(run.code).toBe(exitCode);
  });
});

test('the client and the account made by the CLI complete the seed code flow on a server using the same database', async () => {
  server = await startServer({ DATABASE_URL: dbEnv.DATABASE_URL, DATA_DIR: dbEnv.DATA_DIR });
  // The helper really is on the CLI's database: it knows the CLI's account.
  expect(server.config.databaseUrl).toBe(dbEnv.DATABASE_URL);

  const clientId = String(flowClient.client_id);
  const clientSecret = String(flowClient.client_secret);
  const ua = new UserAgent(server.issuer);
  const url = `${server.issuer}/oauth/authorize?response_type=code&client_id=${clientId}&scope=profile buy buy_history&state=unique_state_code`;
  const { callback, shown } = await authorize(ua, url, { username: USER.username, password: USER.password, consent: 'allow' });
  expect(shown).toEqual(['login', 'consent']);
  expect(callback.origin + callback.pathname).toBe(FLOW_REDIRECT);
  expect(callback.searchParams.get('state')).toBe('unique_state_code');
  const code = callback.searchParams.get('code');
  expect(code).toMatch(/^[\w-]{20,}$/);

  const tokenRes = await fetch(`${server.issuer}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: code! }),
  });
  expect(tokenRes.status).toBe(200);
  const tokens = (await tokenRes.json()) as { access_token: string };
  expect(tokens).toMatchObject({ access_token: expect.stringMatching(/^[\w-]{40,}$/), token_type: 'Bearer', scope: 'profile buy buy_history' });

  // The token belongs to the CLI's account (its id) and the CLI's client.
  const info = await (
    await fetch(`${server.issuer}/oauth/introspect`, {
      method: 'POST',
      headers: { authorization: basic(clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token }),
    })
  ).json();
  expect(info).toMatchObject({ active: true, sub: user.id, client_id: clientId });
});

test('the wrong password for the CLI account is refused at the login page', async () => {
  expect(server).toBeDefined();
  const ua = new UserAgent(server!.issuer);
  const url = `${server!.issuer}/oauth/authorize?response_type=code&client_id=${String(flowClient.client_id)}&scope=profile&state=s`;
  const login = await ua.navigate(url);
  if (!isPage(login)) throw new Error(`expected the login page, was sent to ${login.redirect}`);
  const after = await ua.submit(login, '/login', { username: USER.username, password: 'not-the-password' });
  if (!isPage(after)) throw new Error(`a wrong password was accepted: sent to ${after.redirect}`);
  expect(after.status).toBe(401);
  expect(after.html).toContain('Wrong username or password.');
});

test('keys:rotate prints the created and retired key ids; after a restart the JWKS publishes both', async () => {
  expect(server).toBeDefined();
  const before = (await (await fetch(`${server!.issuer}/oauth/jwks`)).json()) as { keys: { kid: string }[] };
  const beforeKids = before.keys.map((k) => k.kid).sort();
  expect(beforeKids).toHaveLength(2);

  const rotation = json(await cli('keys:rotate'));
  expect(rotation).toMatchObject({ created: expect.any(Array), retired: expect.any(Array), deleted: [] });
  const created = rotation.created as string[];
  expect(created).toHaveLength(2);
  expect([...(rotation.retired as string[])].sort()).toEqual(beforeKids);

  await server!.close();
  server = await startServer({ DATABASE_URL: dbEnv.DATABASE_URL, DATA_DIR: dbEnv.DATA_DIR });
  const after = (await (await fetch(`${server.issuer}/oauth/jwks`)).json()) as { keys: { kid: string }[] };
  expect(after.keys.map((k) => k.kid).sort()).toEqual([...created, ...beforeKids].sort());
});

test('keys:rotate refuses --wait without --activate, and --activate with nothing staged: exit 2, a message, no JSON', async () => {
  for (const args of [['--wait'], ['--stage', '--wait'], ['--activate']]) {
    const run = await cli('keys:rotate', args);
    expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' });
    expect(run.stderr).toMatch(/^error: (--wait goes with --activate|nothing is staged: run keys:rotate --stage first)\n$/);
  }
});
