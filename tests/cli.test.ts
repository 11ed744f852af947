// The command line as an operator runs it: `npm run --silent <command> -- ...`
// in child processes against one database (a SQLite file, or PostgreSQL with
// TEST_DATABASE=postgres), then the server started on that same database
// accepts what the CLI created.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../src/root.js';
import { COMMANDS, optionsOf, type CommandName, type CommandSpec } from '../src/cli/commands.js';
import { startServer, type TestServer } from './helpers/server.js';
import { UserAgent, authorize, isPage } from './helpers/user-agent.js';
import { basic } from './helpers/http.js';
import { readRows, testDatabase, type TestDatabase } from './helpers/database.js';

const dir = mkdtempSync(join(tmpdir(), 'oidc-cli-'));
// DATABASE_URL is set in the first beforeAll (a PostgreSQL database is made, not named).
const dbEnv = { DATABASE_URL: '', DATA_DIR: dir, LOG_LEVEL: 'silent' };
let database: TestDatabase | undefined;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The shell a user types in: none of jest's settings, only ours. */
function shellEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of ['NODE_OPTIONS', 'NODE_ENV', 'SECRET_KEY', 'COOKIE_KEYS', 'ISSUER', 'PORT']) delete env[name];
  return env;
}

/** `npm run --silent <command> -- <args>` from the project root, as a user types it. */
function cli(command: string, args: string[] = []): Promise<Run> {
  return spawnRun('npm', ['run', '--silent', command, '--', ...args], shellEnv(dbEnv));
}

/** A command line exactly as written in the README or a help text, run by sh from the project root. */
function sh(line: string, env: Record<string, string>): Promise<Run> {
  return spawnRun('sh', ['-c', line], shellEnv(env));
}

function spawnRun(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
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

const USER = {
  username: 'cli.alice',
  password: 'cli-alice correct horse',
  serverId: 'srv_cli_1',
  email: 'alice@example.com',
};
const FLOW_REDIRECT = 'http://127.0.0.1:9999/cli/cb';

let flowClient: Record<string, unknown>;
let user: Record<string, unknown>;
let userRun: Run;

beforeAll(async () => {
  database = await testDatabase(dir, 'cli.db');
  dbEnv.DATABASE_URL = database.url;
  // Sequential: the first run creates the database and DATA_DIR/secrets.json.
  flowClient = json(await cli('client:create', ['--name', 'CLI shop', '--redirect-uri', FLOW_REDIRECT]));
  userRun = await cli('user:create', [
    '--username',
    USER.username,
    '--password',
    USER.password,
    '--server-id',
    USER.serverId,
    '--email',
    USER.email,
  ]);
  user = json(userRun);
}, 60_000);

let server: TestServer | undefined;
afterAll(async () => {
  await server?.close();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** The server on the CLI's database, started by the first test that needs it (so that each test also runs alone). */
const running = async (): Promise<TestServer> =>
  (server ??= await startServer({ DATABASE_URL: dbEnv.DATABASE_URL, DATA_DIR: dbEnv.DATA_DIR }));

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
    '--name',
    'Two-URI app',
    '--redirect-uri',
    'https://app.example.com/cb',
    '--redirect-uri',
    'http://127.0.0.1:9999/second',
    '--scope',
    'profile buy',
    '--grant-type',
    'authorization_code',
    '--grant-type',
    'refresh_token',
    '--grant-type',
    'client_credentials',
    '--auth-method',
    'client_secret_post',
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
  const client = json(
    await cli('client:create', [
      '--name',
      'SPA',
      '--redirect-uri',
      'http://127.0.0.1:9999/spa',
      '--auth-method',
      'none',
    ]),
  );
  expect(client).toMatchObject({
    client_id: expect.any(String),
    token_endpoint_auth_method: 'none',
    redirect_uris: ['http://127.0.0.1:9999/spa'],
  });
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

// The codes src/cli/main.ts documents: what the parser or the command's own
// checks reject exits 2, with the one-line error and then the command's usage
// on stderr; values the client or account rules reject exit 1, message only.
// stdout stays empty: it carries JSON on success and nothing else.
const USAGE = (command: string) =>
  command === 'cli' ? 'Usage: npm run --silent cli -- <command> [options]\n' : `Usage: npm run --silent ${command} -- `;
describe.each([
  [
    'client:create without --name',
    'client:create',
    ['--redirect-uri', 'http://127.0.0.1:9999/cb'],
    /--name is required/,
    2,
  ],
  [
    'client:create with an unknown option',
    'client:create',
    ['--name', 'X', '--redirect-uri', 'http://127.0.0.1:9999/cb', '--colour', 'blue'],
    /unknown option '--colour'/,
    2,
  ],
  [
    'client:create with a stray argument',
    'client:create',
    ['--name', 'X', 'http://127.0.0.1:9999/cb'],
    /unexpected argument 'http:\/\/127\.0\.0\.1:9999\/cb'/,
    2,
  ],
  ['client:create with --name but no value', 'client:create', ['--name'], /--name/, 2],
  [
    'client:create with a bad --auth-method',
    'client:create',
    ['--name', 'X', '--redirect-uri', 'http://127.0.0.1:9999/cb', '--auth-method', 'private_key_jwt'],
    /--auth-method.*client_secret_basic/,
    2,
  ],
  [
    'client:create for the code flow without --redirect-uri',
    'client:create',
    ['--name', 'X'],
    /--redirect-uri is required/,
    2,
  ],
  [
    'item:create with a bad --amount',
    'item:create',
    ['--item-id', 'I1', '--name', 'n', '--img-url', 'https://img.example.com/1.png', '--amount', '12.5'],
    /--amount must be a non-negative integer/,
    2,
  ],
  [
    'keys:rotate with two choices',
    'keys:rotate',
    ['--now', '--stage'],
    /one of --now, --stage or --activate, not --now and --stage/,
    2,
  ],
  ['keys:rotate with --wait but no --activate', 'keys:rotate', ['--stage', '--wait'], /--wait goes with --activate/, 2],
  ['cli with an unknown command', 'cli', ['client:delete'], /unknown command 'client:delete'/, 2],
  ['cli with no command', 'cli', [], /which command\?/, 2],
  [
    'client:create with a redirect URI that is not a URL',
    'client:create',
    ['--name', 'X', '--redirect-uri', 'not a url'],
    /redirect_uri/,
    1,
  ],
  // The server offers `code` only unless IMPLICIT_AND_HYBRID=true (tests/response-types.test.ts).
  [
    'client:create with a response type the server does not offer',
    'client:create',
    ['--name', 'X', '--redirect-uri', 'https://rp.example/cb', '--response-type', 'code id_token'],
    /^error: response type 'code id_token' is not offered by this server; it offers 'code' \(IMPLICIT_AND_HYBRID=true adds it\)$/m,
    1,
  ],
  [
    'user:create with a username that is taken',
    'user:create',
    ['--username', USER.username, '--password', 'another-long-password'],
    /cli\.alice.*taken|taken.*cli\.alice/,
    1,
  ],
  [
    'user:create with a short password',
    'user:create',
    ['--username', 'cli.carol', '--password', 'short'],
    /password.*8/,
    1,
  ],
] as const)('%s', (_title, command, args, message, exitCode) => {
  test(
    exitCode === 2
      ? 'exits 2: the error, then the usage, on stderr; nothing on stdout'
      : 'exits 1: says why on stderr, nothing on stdout',
    async () => {
      const run = await cli(command, [...args]);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
      // A message for a person, not a stack trace or a crash report.
      expect(run.stderr).not.toMatch(/^\s+at |Assertion failed|Native stack trace/m);
      if (exitCode === 2) {
        const [error, blank, ...usage] = run.stderr.split('\n');
        expect(error).toMatch(/^error: \S/);
        expect(error).toMatch(message);
        expect(blank).toBe('');
        expect(usage.join('\n').startsWith(USAGE(command))).toBe(true);
      } else {
        expect(run.stderr).not.toContain('Usage:');
      }
      expect(run.code).toBe(exitCode);
    },
  );
});

test('the client and the account made by the CLI complete the seed code flow on a server using the same database', async () => {
  server = await running();
  // The helper really is on the CLI's database: it knows the CLI's account.
  expect(server.config.databaseUrl).toBe(dbEnv.DATABASE_URL);

  const clientId = String(flowClient.client_id);
  const clientSecret = String(flowClient.client_secret);
  const ua = new UserAgent(server.issuer);
  const url = `${server.issuer}/oauth/authorize?response_type=code&client_id=${clientId}&scope=profile buy buy_history&state=unique_state_code`;
  const { callback, shown } = await authorize(ua, url, {
    username: USER.username,
    password: USER.password,
    consent: 'allow',
  });
  expect(shown).toEqual(['login', 'consent']);
  expect(callback.origin + callback.pathname).toBe(FLOW_REDIRECT);
  expect(callback.searchParams.get('state')).toBe('unique_state_code');
  const code = callback.searchParams.get('code');
  expect(code).toMatch(/^[\w-]{20,}$/);

  const tokenRes = await fetch(`${server.issuer}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: basic({ client_id: clientId }, clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: code! }),
  });
  expect(tokenRes.status).toBe(200);
  const tokens = (await tokenRes.json()) as { access_token: string };
  expect(tokens).toMatchObject({
    access_token: expect.stringMatching(/^[\w-]{40,}$/),
    token_type: 'Bearer',
    scope: 'profile buy buy_history',
  });

  // The token belongs to the CLI's account (its id) and the CLI's client.
  const info = await (
    await fetch(`${server.issuer}/oauth/introspect`, {
      method: 'POST',
      headers: {
        authorization: basic({ client_id: clientId }, clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: tokens.access_token }),
    })
  ).json();
  expect(info).toMatchObject({ active: true, sub: user.id, client_id: clientId });
});

test('the wrong password for the CLI account is refused at the login page', async () => {
  server = await running();
  const ua = new UserAgent(server!.issuer);
  const url = `${server!.issuer}/oauth/authorize?response_type=code&client_id=${String(flowClient.client_id)}&scope=profile&state=s`;
  const login = await ua.navigate(url);
  if (!isPage(login)) throw new Error(`expected the login page, was sent to ${login.redirect}`);
  const after = await ua.submit(login, '/login', { username: USER.username, password: 'not-the-password' });
  if (!isPage(after)) throw new Error(`a wrong password was accepted: sent to ${after.redirect}`);
  expect(after.status).toBe(401);
  expect(after.html).toContain('Wrong username or password.');
});

/** The SigningKey table as it is in the database, read beside the CLI (what each node reads). */
function signingKeys(): Promise<unknown[]> {
  return readRows(
    dbEnv.DATABASE_URL,
    'SELECT kid, alg, "createdAt", "activatedAt", "retiredAt" FROM "SigningKey" ORDER BY kid',
  );
}

test('a bare keys:rotate changes nothing: exit 2, its usage with what each choice does on stderr; the keys and the JWKS stay as they were', async () => {
  server = await running();
  const tableBefore = await signingKeys();
  const jwksBefore = await (await fetch(`${server!.issuer}/oauth/jwks`)).json();
  expect(tableBefore.length).toBeGreaterThanOrEqual(2);

  const run = await cli('keys:rotate');
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(
    /^error: keys:rotate: choose --now \(one node\), or --stage then --activate \(several nodes\); nothing was changed\n\nUsage: /,
  );
  const flat = run.stderr.replace(/\s+/g, ' ');
  for (const choice of ['now', 'stage', 'activate'] as const) {
    expect(flat).toContain(COMMANDS['keys:rotate'].options[choice].description.replace(/\s+/g, ' '));
  }

  expect(await signingKeys()).toEqual(tableBefore);
  expect(await (await fetch(`${server!.issuer}/oauth/jwks`)).json()).toEqual(jwksBefore);
});

test('keys:rotate prints the created and retired key ids; after a restart the JWKS publishes both', async () => {
  server = await running();
  const before = (await (await fetch(`${server!.issuer}/oauth/jwks`)).json()) as { keys: { kid: string }[] };
  const beforeKids = before.keys.map((k) => k.kid).sort();
  expect(beforeKids).toHaveLength(2);

  const rotation = json(await cli('keys:rotate', ['--now']));
  expect(rotation).toMatchObject({ created: expect.any(Array), retired: expect.any(Array), deleted: [] });
  const created = rotation.created as string[];
  expect(created).toHaveLength(2);
  expect([...(rotation.retired as string[])].sort()).toEqual(beforeKids);

  await server!.close();
  server = await startServer({ DATABASE_URL: dbEnv.DATABASE_URL, DATA_DIR: dbEnv.DATA_DIR });
  const after = (await (await fetch(`${server.issuer}/oauth/jwks`)).json()) as { keys: { kid: string }[] };
  expect(after.keys.map((k) => k.kid).sort()).toEqual([...created, ...beforeKids].sort());
});

test('keys:rotate --activate with nothing staged: exit 2 and a message, no usage (the arguments were right), no JSON', async () => {
  const run = await cli('keys:rotate', ['--activate']);
  expect(run).toEqual({ code: 2, stdout: '', stderr: 'error: nothing is staged: run keys:rotate --stage first\n' });
});

// --help is written from the option table (src/cli/commands.ts): each check
// below is derived from that table, so an option that loses its help, its
// default or its "repeatable" fails here.
const NAMES = Object.keys(COMMANDS) as CommandName[];
const flat = (text: string) => text.replace(/\s+/g, ' ');

/** At most `n` at a time: the help runs start a process each, on a shared machine. */
async function inBatches<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += n) out.push(...(await Promise.all(items.slice(i, i + n).map(fn))));
  return out;
}

describe.each(NAMES)('%s --help', (command) => {
  test('prints on stdout what it does, every option with its meaning, default and whether it repeats, and examples; exit 0; -h, cli -- <command> --help and cli -- help <command> print the same', async () => {
    const spec: CommandSpec = COMMANDS[command];
    const [help, short, viaCli, viaHelp] = await inBatches(
      [
        ['npm', ['run', '--silent', command, '--', '--help']],
        ['npm', ['run', '--silent', command, '--', '-h']],
        ['npm', ['run', '--silent', 'cli', '--', command, '--help']],
        ['npm', ['run', '--silent', 'cli', '--', 'help', command]],
      ] as const,
      2,
      ([file, args]) => spawnRun(file, [...args], shellEnv(dbEnv)),
    );
    expect({ code: help!.code, stderr: help!.stderr }).toEqual({ code: 0, stderr: '' });
    for (const other of [short, viaCli, viaHelp]) expect(other).toEqual(help);

    const text = help!.stdout;
    expect(text).toMatch(new RegExp(`^Usage: npm run --silent ${command} -- `));
    expect(flat(text)).toContain(flat(spec.description));
    for (const [name, option] of Object.entries(optionsOf(command))) {
      // The option's own line: `  --name VALUE  (notes)` or `  -h, --help`.
      const header = new RegExp(
        `^  ${option.short ? `-${option.short}, ` : ''}--${name}(?: .+?)?(?:  \\((.*)\\))?$`,
        'm',
      ).exec(text);
      expect({ name, header: header?.[0] }).toEqual({ name, header: expect.any(String) });
      const notes = header![1] ?? '';
      expect({ name, required: /required/.test(notes) }).toEqual({ name, required: !!option.required });
      expect({ name, repeatable: /repeatable/.test(notes) }).toEqual({ name, repeatable: !!option.multiple });
      // Its text follows its line.
      const block = flat(text.slice(header!.index + header![0].length));
      expect(option.description).toMatch(/\S/);
      expect(block.startsWith(` ${flat(option.description)}`)).toBe(true);
      if (option.default !== undefined) expect(block).toContain(`Default: ${flat(option.default)}.`);
      if (option.choices) expect(block).toContain(`One of: ${option.choices.join(', ')}.`);
    }
    expect(spec.examples.length).toBeGreaterThan(0);
    for (const example of spec.examples) expect(text).toContain(`\n  npm run --silent ${command} -- ${example.args}\n`);
  });
});

test('cli -- --help and cli -- help list every command with its one-line summary; exit 0', async () => {
  const runs = await Promise.all([cli('cli', ['--help']), cli('cli', ['help']), cli('cli', ['-h'])]);
  for (const run of runs) {
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toBe(runs[0]!.stdout);
  }
  for (const name of NAMES)
    expect(runs[0]!.stdout).toMatch(new RegExp(`^  ${name} +${COMMANDS[name].summary.replace(/[()]/g, '\\$&')}$`, 'm'));
});

test('cli -- <command> runs the command, like its own script', async () => {
  const created = json(await cli('cli', ['user:create', '--username', 'cli.dave', '--password', 'dave-password-123']));
  expect(created).toMatchObject({ username: 'cli.dave', server_id: expect.stringMatching(/^\S+$/) });
});

/** Runs each line as written, one after another, on a database of its own. */
async function runAsWritten(lines: string[], extra: Record<string, string> = {}): Promise<void> {
  const own = mkdtempSync(join(tmpdir(), 'oidc-cli-examples-'));
  const ownDatabase = await testDatabase(own, 'cli.db');
  try {
    const env = { DATABASE_URL: ownDatabase.url, DATA_DIR: own, LOG_LEVEL: 'silent', ...extra };
    for (const line of lines) {
      const run = await sh(line, env);
      expect({ line, code: run.code, stderr: run.stderr }).toEqual({ line, code: 0, stderr: expect.any(String) });
      if (/ (--help|-h)\b/.test(line)) expect(run.stdout).toMatch(/^Usage: /);
      else {
        let parsed: unknown;
        try {
          parsed = JSON.parse(run.stdout);
        } catch {
          parsed = run.stdout;
        }
        expect({ line, parsed }).toEqual({ line, parsed: expect.any(Object) });
      }
    }
  } finally {
    await ownDatabase.drop();
    rmSync(own, { recursive: true, force: true });
  }
}

test('every example in every --help works when pasted', async () => {
  // KEY_REFRESH_INTERVAL=1: `keys:rotate -- --activate --wait` after `--stage` waits 2 s, not 31.
  await runAsWritten(
    NAMES.flatMap((command) =>
      (COMMANDS[command] as CommandSpec).examples.map((e) => `npm run --silent ${command} -- ${e.args}`),
    ),
    { KEY_REFRESH_INTERVAL: '1' },
  );
}, 120_000);

test("the README's Command line examples run as written, and show every command without a bracketed synopsis", async () => {
  const section = readFileSync(join(ROOT, 'README.md'), 'utf8')
    .split(/^## /m)
    .find((s) => s.startsWith('Command line\n'));
  const block = /```sh\n([\s\S]*?)```/.exec(section ?? '')?.[1];
  expect(block).toBeDefined();
  // `[--option VALUE]` pasted into a shell is an argument the command refuses.
  expect(block).not.toMatch(/\[-/);
  expect(section).toContain('--help');
  const lines = block!
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => l.startsWith('npm run'));
  for (const name of NAMES) expect(lines.some((l) => l.includes(` ${name} -- --`))).toBe(true);
  await runAsWritten(lines);
}, 120_000);
