// Signing-key rotation on several nodes, none restarted: two server processes
// (src/main.ts) on one PostgreSQL database, KEY_REFRESH_INTERVAL=1, and the
// command line as an operator runs it. Stage: every node publishes the new
// keys and still signs with the old ones; activate: every node signs with the
// new ones; rotate again: the first new keys retire. Each step reaches both
// nodes within the interval, and every ID token signed on the way still
// verifies against either node's JWKS. Also: activating too early is refused,
// the database going away keeps the nodes on their keys, and SIGTERM still
// drains at once.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { authorizationCode, postForm, type Json } from './helpers/http.js';
import {
  ROOT,
  cli,
  cliClient,
  cliUser,
  freePort,
  killAllChildren,
  spawnServer,
  waitFor,
  type Person,
  type Registered,
  type ServerProcess,
} from './helpers/processes.js';
import { sql, startPostgres, type PgServer } from './helpers/postgres.js';

const INTERVAL = 1; // KEY_REFRESH_INTERVAL, seconds
// A change is read at the next tick, at most INTERVAL after it; the rest is
// the rebuild, our polling (every 100 ms) and a loaded test machine.
const WITHIN_MS = INTERVAL * 1000 + 1500;

let pgs: PgServer | undefined;
let url: string;
let dataDir: string;
let issuer: string;
let a: ServerProcess;
let b: ServerProcess;
let web: Registered;
let user: Person;

/** How long each node took to follow each step, from the CLI's answer (printed by the first test). */
const timings: string[] = [];

const shared = {
  COOKIE_KEYS: randomBytes(32).toString('base64url'),
  SECRET_KEY: randomBytes(32).toString('base64url'),
};
const env = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: url,
  DATA_DIR: dataDir,
  ISSUER: issuer,
  SEED_DEMO: 'false',
  LOG_LEVEL: 'info',
  KEY_REFRESH_INTERVAL: String(INTERVAL),
  ...shared,
  ...extra,
});

beforeAll(async () => {
  pgs = await startPostgres();
  url = await pgs.createDatabase('oidc_keys');
  dataDir = mkdtempSync(join(tmpdir(), 'oidc-keys-app-'));
  const [portA, portB] = [await freePort(), await freePort()];
  issuer = `http://127.0.0.1:${portA}`;
  // Two nodes of one issuer, as behind a load balancer.
  a = await spawnServer(env({ PORT: String(portA) }));
  b = await spawnServer(env({ PORT: String(portB) }));
  web = await cliClient(env());
  user = await cliUser(env());
}, 90_000);

afterAll(async () => {
  await killAllChildren();
  await pgs?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

/** `npm run --silent keys:rotate -- <args>`: exit code, stdout, stderr (cli() only knows success). */
function keysRotate(
  args: string[],
  extra: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'keys:rotate', '--', ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        NODE_ENV: 'test',
        ...env({ LOG_LEVEL: 'silent', ...extra }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const nodes = () =>
  [
    ['A', a],
    ['B', b],
  ] as const;

const jwks = async (node: ServerProcess): Promise<JSONWebKeySet> => {
  const res = await fetch(`${node.base}/oauth/jwks`);
  expect(res.status).toBe(200);
  return (await res.json()) as JSONWebKeySet;
};
const kids = async (node: ServerProcess) => (await jwks(node)).keys.map((k) => k.kid!).sort();

/** An ID token from `node`, through the code flow a relying party runs. */
async function idToken(node: ServerProcess): Promise<string> {
  const { code } = await authorizationCode(node.base, web, user, 'openid profile', {
    nonce: randomBytes(8).toString('hex'),
  });
  const res = await postForm(`${node.base}/oauth/token`, web, { grant_type: 'authorization_code', code });
  expect(res.status).toBe(200);
  return res.body.id_token as string;
}
const kidOf = (token: string) => decodeProtectedHeader(token).kid;

/** Verifies `token` with `node`'s JWKS as a relying party would: true or the reason. */
const verifiesAt = (token: string, node: ServerProcess) =>
  jwks(node).then((set) =>
    jwtVerify(token, createLocalJWKSet(set), { issuer, audience: web.client_id }).then(
      () => true,
      (err: Error) => err.message,
    ),
  );

const activeKid = async (alg: string) =>
  (
    await sql<{ kid: string }>(
      url,
      `SELECT "kid" FROM "SigningKey" WHERE "alg" = $1 AND "activatedAt" IS NOT NULL AND "retiredAt" IS NULL`,
      [alg],
    )
  )[0]!.kid;

/** Stages keys, waits until both nodes publish them (asserting they still sign with the old key), and activates them. */
async function stageAndActivate(tokens: string[]): Promise<{ staged: string[]; rsa: string }> {
  const oldRsa = await activeKid('RS256');
  const stage: Json = await cli('keys:rotate', ['--stage'], env({ LOG_LEVEL: 'silent' }));
  expect(stage).toEqual({
    staged: expect.any(Array),
    activate_after: expect.any(String),
    wait_seconds: expect.any(Number),
    next: expect.stringContaining('--activate'),
  });
  expect(stage.staged).toHaveLength(2);
  // Staged a moment ago: the wait is at most the interval and the second for the refresh itself.
  expect(stage.wait_seconds).toBeGreaterThan(0);
  expect(stage.wait_seconds).toBeLessThanOrEqual(INTERVAL + 1);
  const { kid: rsa, createdAt } = (
    await sql<{ kid: string; createdAt: Date }>(
      url,
      `SELECT "kid", "createdAt" FROM "SigningKey" WHERE "alg" = 'RS256' AND "activatedAt" IS NULL`,
    )
  )[0]!;
  expect(stage.staged).toContain(rsa);

  for (const [name, node] of nodes()) {
    await waitFor(
      `node ${name} to publish the staged keys`,
      async () => {
        const published = await kids(node);
        return stage.staged.every((kid: string) => published.includes(kid));
      },
      WITHIN_MS,
    );
    // From the moment the key was stored, not from the CLI's answer (its exit takes a while).
    const ms = Date.now() - createdAt.getTime();
    timings.push(`${name} published ${rsa.slice(0, 6)} ${ms} ms after staging`);
    expect(ms).toBeLessThanOrEqual(WITHIN_MS);
  }
  // Published, not signing: a relying party may meet the new key before any token carries it.
  for (const [, node] of nodes()) {
    const token = await idToken(node);
    expect(kidOf(token)).toBe(oldRsa);
    tokens.push(token);
  }

  // --wait: the CLI may still be inside the interval on a fast machine.
  const activated: Json = await cli('keys:rotate', ['--activate', '--wait'], env({ LOG_LEVEL: 'silent' }));
  expect([...activated.activated].sort()).toEqual([...stage.staged].sort());
  expect(activated.retired).toContain(oldRsa);
  return { staged: stage.staged, rsa };
}

/** Every node's new ID tokens carry `kid` within the interval; returns one token from each. */
async function bothSignWith(kid: string): Promise<string[]> {
  const { activatedAt } = (
    await sql<{ activatedAt: Date }>(url, `SELECT "activatedAt" FROM "SigningKey" WHERE "kid" = $1`, [kid])
  )[0]!;
  const tokens: string[] = [];
  for (const [name, node] of nodes()) {
    let last: string | undefined;
    // The probe is a whole code flow: allow for one more than the interval.
    await waitFor(
      `node ${name} to sign with ${kid}`,
      async () => {
        last = await idToken(node);
        return kidOf(last) === kid;
      },
      WITHIN_MS + 1000,
    );
    const ms = Date.now() - activatedAt.getTime();
    timings.push(`${name} signed with ${kid.slice(0, 6)} ${ms} ms after activation`);
    expect(ms).toBeLessThanOrEqual(WITHIN_MS + 1000);
    tokens.push(last!);
  }
  return tokens;
}

test('stage, activate, rotate again: both nodes follow within KEY_REFRESH_INTERVAL, no restart; every token signed on the way verifies at either node', async () => {
  const pidA = a.child.pid;
  const pidB = b.child.pid;
  const tokens: string[] = [];
  const first = await activeKid('RS256');
  for (const [, node] of nodes()) tokens.push(await idToken(node));
  expect(tokens.map(kidOf)).toEqual([first, first]);

  const one = await stageAndActivate(tokens);
  tokens.push(...(await bothSignWith(one.rsa)));

  // Rotate again: the keys activated above retire, still published.
  const two = await stageAndActivate(tokens);
  tokens.push(...(await bothSignWith(two.rsa)));
  for (const [, node] of nodes()) {
    const published = await kids(node);
    expect(published).toEqual(expect.arrayContaining([first, one.rsa, two.rsa]));
  }

  // OIDC Core §3.1.3.7 step 6: each token, whichever node signed it and with whichever key, verifies with each node's JWKS.
  const results = [];
  for (const token of tokens)
    for (const [name, node] of nodes())
      results.push({ kid: kidOf(token), at: name, verified: await verifiesAt(token, node) });
  expect(results.filter((r) => r.verified !== true)).toEqual([]);
  expect(new Set(tokens.map(kidOf))).toEqual(new Set([first, one.rsa, two.rsa]));
  console.log(`KEY_REFRESH_INTERVAL=${INTERVAL}: ${timings.join('; ')}`);
  // The same processes throughout.
  expect([a.alive(), b.alive(), a.child.pid, b.child.pid]).toEqual([true, true, pidA, pidB]);
}, 120_000);

test('--activate right after --stage is refused with exit 75 and how long to wait; nothing changes', async () => {
  const staged: Json = await cli('keys:rotate', ['--stage'], env({ LOG_LEVEL: 'silent' }));
  const before = await sql(url, 'SELECT "kid", "activatedAt", "retiredAt" FROM "SigningKey" ORDER BY "kid"');
  // As an operator whose nodes read the keys hourly (the longest interval):
  // far longer than the CLI's own start-up, however loaded the machine.
  const early = await keysRotate(['--activate'], { KEY_REFRESH_INTERVAL: '3600' });
  expect(early.code).toBe(75);
  expect(early.stdout).toBe('');
  expect(early.stderr).toMatch(
    /^error: too early: .*KEY_REFRESH_INTERVAL 3600 s.* again in \d+(\.\d)? s, or add --wait\n$/,
  );
  const seconds = Number(/again in ([\d.]+) s/.exec(early.stderr)![1]);
  expect(seconds).toBeGreaterThan(3500);
  expect(seconds).toBeLessThanOrEqual(3601);
  expect(await sql(url, 'SELECT "kid", "activatedAt", "retiredAt" FROM "SigningKey" ORDER BY "kid"')).toEqual(before);

  // With the nodes' interval, once it has passed: accepted.
  await waitFor(
    'the staged keys to be old enough',
    async () => Date.parse(staged.activate_after) <= Date.now(),
    WITHIN_MS,
  );
  const ok = await keysRotate(['--activate']);
  expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: '' });
  expect([...JSON.parse(ok.stdout).activated].sort()).toEqual([...staged.staged].sort());
  await bothSignWith(await activeKid('RS256'));
}, 60_000);

test('with the database away the nodes keep their keys and say so once; once it is back, a rotation reaches them again', async () => {
  const published = await Promise.all([kids(a), kids(b)]);
  const warnings = () =>
    [a, b].map(
      (n) =>
        n
          .output()
          .split('\n')
          .filter((l) => l.includes('signing keys: cannot read the database')).length,
    );
  expect(warnings()).toEqual([0, 0]);

  await pgs!.outage();
  try {
    await waitFor('both nodes to notice', async () => warnings().every((n) => n > 0), WITHIN_MS + 2000);
    // Several intervals without the database: still up, still the same keys, one warning each.
    await new Promise((r) => setTimeout(r, 2 * INTERVAL * 1000 + 200));
    expect([a.alive(), b.alive()]).toEqual([true, true]);
    expect(await Promise.all([kids(a), kids(b)])).toEqual(published);
    expect(warnings()).toEqual([1, 1]);
  } finally {
    await pgs!.recover();
  }

  const staged: Json = await cli('keys:rotate', ['--stage'], env({ LOG_LEVEL: 'silent' }));
  for (const [name, node] of nodes()) {
    await waitFor(
      `node ${name} to publish after the outage`,
      async () => (await kids(node)).includes(staged.staged[0]),
      WITHIN_MS + 2000,
    );
  }
}, 90_000);

test('SIGTERM: both nodes drain and exit 0 at once; the key refresh holds nothing open', async () => {
  for (const node of [a, b]) {
    const started = Date.now();
    expect(await node.stop()).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5000);
  }
}, 30_000);
