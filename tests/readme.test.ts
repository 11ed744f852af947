// The README as a tested artifact: the shell examples a newcomer pastes are
// run, as written, against the real server started as `npm start` starts it,
// with the demo account and client it prints on its first start.
//
// How a README block is read (tests/helpers/readme.ts):
// - `name=…` lines are the README telling the reader to fill in a value; the
//   test fills in the same variable (client_id and client_secret from the
//   first-start output, code from the browser step, anything else from the
//   last output that carried a field of that name: "from the token response").
//   A comment that opens with a field in backticks names the field to take
//   instead: "oidc_code=…  # `code` from the callback page".
// - `open "<url>"` is a browser step: the URL is expanded by bash, must be one
//   curl accepts, and is then walked through by the tests' user agent
//   (sign in as demo and allow, or confirm sign-out).
// - every other command runs in bash with only those variables set and the
//   host and port replaced; it must exit 0, and print what the `# {…}` lines
//   (or a ```json block right after the ```sh block) show: same keys, same
//   values, `…` matching anything. With nothing shown, it must not print an
//   OAuth error.
// - a block after `<!-- readme-test: skip (reason) -->` is not run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basic } from './helpers/http.js';
import { cliClient, killAllChildren, spawnServer, type ServerProcess } from './helpers/processes.js';
import { UserAgent } from './helpers/user-agent.js';
import { testDatabase, type TestDatabase } from './helpers/database.js';
import {
  demoFromStdout,
  README_HOST,
  readmeSections,
  runSection,
  runStep,
  shell,
  steps,
  type Demo,
  type Session,
} from './helpers/readme.js';

const README = readFileSync(join(process.cwd(), 'README.md'), 'utf8');

const FLOW = 'The authorization code flow, step by step';
const MORE = 'Discovery, introspection, revocation, userinfo, refresh, client credentials';
const API = 'The resource API';

const dirs: string[] = [];
const databases: TestDatabase[] = [];
async function demoServer(
  extra: Record<string, string> = {},
): Promise<{ server: ServerProcess; demo: Demo; env: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'readme-'));
  dirs.push(dir);
  const database = await testDatabase(dir, 'oidc.db');
  databases.push(database);
  const env = { DATABASE_URL: database.url, DATA_DIR: dir, LOG_LEVEL: 'warn' };
  const server = await spawnServer({ ...env, SEED_DEMO: 'true', ...extra });
  return { server, demo: demoFromStdout(server.stdout()), env };
}

afterAll(async () => {
  await killAllChildren();
  for (const database of databases) await database.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('README', () => {
  let server: ServerProcess;
  let demo: Demo;
  let env: Record<string, string>;
  let session: Session;

  beforeAll(async () => {
    ({ server, demo, env } = await demoServer());
  });
  // Each test is a reader with a browser of their own, who first replays the
  // sections the README puts before the one under test (the variables they
  // set, the tokens they revoke), so a test passes or fails alone as in a run
  // of the whole file.
  beforeEach(() => {
    session = { base: server.base, demo, ua: new UserAgent(server.base), vars: {}, outputs: [] };
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('the first-start output it shows is what the server prints (values and host aside)', () => {
    const lines = README.split('\n');
    const start = lines.findIndex((l) => l.startsWith('First start:'));
    expect(start).toBeGreaterThan(0);
    const printed = server
      .stdout()
      .split('\n')
      .map((l) => l.trimEnd());
    for (let i = start; lines[i] !== '```'; i++) {
      // `Rk3x…`: an example value's start, then "and so on": any value.
      const pattern = new RegExp(
        `^${escapeRegExp(lines[i]!.replaceAll(README_HOST, server.base)).replace(/\S*…/g, '\\S+')}$`,
      );
      if (!printed.some((l) => pattern.test(l))) {
        throw new Error(
          `README.md:${i + 1}: the server printed no line like ${JSON.stringify(lines[i])}:\n${server.stdout()}`,
        );
      }
    }
  });

  test(`"${FLOW}": every command runs and prints what the README shows`, async () => {
    await runSection(README, FLOW, session);
    expect(session.vars.access_token).toBeTruthy();
  });

  test(`"${MORE}": discovery, introspection, revocation, client credentials, userinfo, refresh and logout as shown; the repeated refresh ends the authorization's tokens (RFC 9700 §4.14.2)`, async () => {
    const all = steps(README, MORE);
    // The refresh, then the same command again: the used refresh token presented a second time.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the README's shell text, ${refresh_token} included
    const refreshes = all.filter((s) => s.kind === 'run' && s.command.includes('refresh_token=${refresh_token}'));
    expect(refreshes).toHaveLength(2);
    const reuse = refreshes[1];
    const active = async (token: string) => {
      const res = await fetch(`${server.base}/oauth/introspect`, {
        method: 'POST',
        headers: { authorization: basic(demo) },
        body: new URLSearchParams({ token }),
      });
      return ((await res.json()) as { active: boolean }).active;
    };
    await runSection(README, FLOW, session);
    let tokens: string[] = [];
    for (const step of all) {
      if (step === reuse) {
        // Until the reuse, the first access token and the refresh's new tokens work (rotation consumes only the refresh token).
        const rotated = JSON.parse(session.outputs.at(-1)!) as { access_token: string; refresh_token: string };
        tokens = [session.vars.oidc_access_token!, rotated.access_token, rotated.refresh_token];
        expect(await Promise.all(tokens.map(active))).toEqual([true, true, true]);
      }
      await runStep(step, session);
    }
    expect(await Promise.all(tokens.map(active))).toEqual([false, false, false]);
  });

  test(`"${API}", after steps 1 and 2 again as the README says once the token is revoked`, async () => {
    await runSection(README, FLOW, session);
    await runSection(README, MORE, session);
    const revoked = session.vars.access_token;
    expect(revoked).toBeTruthy();
    await runSection(README, FLOW, session);
    expect(session.vars.access_token).not.toBe(revoked);
    await runSection(README, API, session);
  });

  test("revocation is as the README words it: own or unknown token 200; another client's token 400 invalid_request, or 200 for a public client; never revoked by them (RFC 7009 §2.1, §2.2)", async () => {
    const revoke = (auth: Record<string, string>, token: string) =>
      fetch(`${server.base}/oauth/revoke`, {
        method: 'POST',
        headers: auth,
        body: new URLSearchParams(token ? { token } : {}),
      });
    const demoAuth = { authorization: basic(demo) };
    // A live token of the demo client's, from the README's own steps.
    await runSection(README, FLOW, session);
    const token = session.vars.access_token!;
    const active = async () =>
      (await (
        await fetch(`${server.base}/oauth/introspect`, {
          method: 'POST',
          headers: demoAuth,
          body: new URLSearchParams({ token }),
        })
      ).json()) as { active: boolean };

    const [other, pub] = await Promise.all([
      cliClient(env),
      cliClient(env, ['--redirect-uri', 'http://127.0.0.1:9999/cb', '--auth-method', 'none']),
    ]);
    const refused = await revoke({ authorization: basic(other) }, token);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: 'invalid_request',
      error_description: 'client is not authorized to revoke the presented token',
    });
    const silent = await fetch(`${server.base}/oauth/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token, client_id: pub.client_id }),
    });
    expect(silent.status).toBe(200);
    expect(await silent.text()).toBe('');
    expect((await active()).active).toBe(true);

    const unknown = await revoke(demoAuth, 'not-a-token-this-server-issued');
    expect(unknown.status).toBe(200);
    expect(await unknown.text()).toBe('');
    const own = await revoke(demoAuth, token);
    expect(own.status).toBe(200);
    expect(await own.text()).toBe('');
    expect(await active()).toEqual({ active: false });
  }, 60_000);

  test("the logged-out page the README sends the browser to has words of its own, not the code callback's (en, zh-TW)", async () => {
    const page = async (language: string) =>
      (await fetch(`${demo.post_logout_redirect_uri}?state=bye`, { headers: { 'accept-language': language } })).text();
    const en = await page('en');
    expect(en).toContain('<h1>Logout response</h1>');
    expect(en).toContain('<code>bye</code>');
    expect(en).not.toMatch(/Authorization response|Exchange the code/);
    const zh = await page('zh-TW');
    expect(zh).toContain('<h1>登出回應</h1>');
    expect(zh).not.toMatch(/授權回應|交換此 code/);
    // The code callback keeps its own.
    expect(await (await fetch(`${demo.redirect_uri}?code=x&state=y`)).text()).toContain(
      '<h1>Authorization response</h1>',
    );
  });

  test('a drifted example fails, naming its README line', async () => {
    const lines = README.split('\n');
    const me = lines.findIndex((l) => l.startsWith('# {"code":0,"success":true,"username":"demo"'));
    expect(me).toBeGreaterThan(0);
    lines[me] = lines[me]!.replace('"username":"demo"', '"username":"someone else"');
    await expect(runSection(lines.join('\n'), FLOW, session)).rejects.toThrow(`README.md:${me + 1}:`);
  });

  test('every section the test runs exists, and only the blocks marked skip are left out', () => {
    const sections = readmeSections(README);
    for (const title of [FLOW, MORE, API]) expect(sections.get(title)?.blocks.length).toBeGreaterThan(0);
    const skipped = [FLOW, MORE, API].flatMap((title) =>
      sections
        .get(title)!
        .blocks.filter((b) => b.skip)
        .map((b) => `${b.line}: ${b.skip}`),
    );
    expect(skipped).toEqual([expect.stringMatching(/second server/)]);
  });
});

describe('README, step 2: "A code lives 60 seconds and works once"', () => {
  const exchange = () => {
    const step = steps(README, FLOW).find((s) => s.kind === 'run' && s.command.includes('/oauth/token'));
    if (step?.kind !== 'run') throw new Error('no token request in step 2');
    return step;
  };
  const invalidGrant = { error: 'invalid_grant', error_description: 'grant request is invalid' };

  test('step 2 run twice: the second answers invalid_grant "grant request is invalid" and the first token stops working (RFC 6749 §4.1.2)', async () => {
    const { server, demo } = await demoServer();
    try {
      const session: Session = { base: server.base, demo, ua: new UserAgent(server.base), vars: {}, outputs: [] };
      await runSection(README, FLOW, session);
      const again = await shell(exchange().command, session);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual(invalidGrant);
      const me = await fetch(`${server.base}/api/me`, {
        headers: { authorization: `Bearer ${session.vars.access_token}` },
      });
      expect(me.status).toBe(401);
    } finally {
      await server.stop();
    }
  }, 60_000);

  test('a code exchanged after its lifetime (AUTHORIZATION_CODE_TTL=1, 2 s later) answers the same', async () => {
    const { server, demo } = await demoServer({ AUTHORIZATION_CODE_TTL: '1' });
    try {
      const session: Session = { base: server.base, demo, ua: new UserAgent(server.base), vars: {}, outputs: [] };
      const token = exchange();
      for (const step of steps(README, FLOW)) {
        if (step.line === token.line) break;
        await runStep(step, session);
      }
      await sleep(2100);
      const late = await shell(token.command, session);
      expect(late.code).toBe(0);
      expect(JSON.parse(late.stdout)).toEqual(invalidGrant);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
