// Faults on one node with SQLite, against the real server as a child process
// (src/main.ts, as `npm start` runs it): kill -9 in the middle of a stream of
// purchases, the scheduled purge of expired artifacts under load, SIGTERM
// draining an in-flight request, and what the first start prints. Clients,
// accounts and items come from the command line, run before the server
// starts (one writer at a time on the SQLite file); tokens come from the
// seed's code flow over HTTP. The test only reads the database file, read-only.
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  STACK,
  allOrders,
  call,
  authorizationCode,
  buy,
  postForm,
  redeemMultipart,
  seedToken,
  type Json,
} from './helpers/http.js';
import {
  cli,
  cliClient,
  cliUser,
  freePort,
  killAllChildren,
  pool,
  sleep,
  spawnServer,
  waitFor,
  within,
  type Person,
  type Registered,
} from './helpers/processes.js';
import { UserAgent, isPage } from './helpers/user-agent.js';

const dirs: string[] = [];
const handles: Database.Database[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-faults-'));
  dirs.push(dir);
  return dir;
}

/** What every server and CLI run of one test shares: one SQLite file, one DATA_DIR (secrets.json). */
function dbEnv(dir: string): Record<string, string> {
  return { DATABASE_URL: `file:${join(dir, 'x.db')}`, DATA_DIR: dir, SEED_DEMO: 'false', LOG_LEVEL: 'warn' };
}

/** The test's own view of the database: read-only, never a writer. */
function readOnly(dir: string): Database.Database {
  const db = new Database(join(dir, 'x.db'), { readonly: true, fileMustExist: true });
  handles.push(db);
  return db;
}

const item = (id: string, amount = 100) => [
  '--item-id',
  id,
  '--name',
  `品項 ${id}`,
  '--img-url',
  `https://img.example.com/img/${id}.png`,
  '--amount',
  String(amount),
];

function expectBought(res: { status: number; body: Json; text: string }) {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 200,
    body: { code: 0, success: true, msg: '購買成功', ts: expect.any(Number) },
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

afterAll(async () => {
  await killAllChildren();
  for (const h of handles) h.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('kill -9 of the server in the middle of a stream of purchases', () => {
  test('every purchase answered with success is recorded exactly once after a restart on the same database; replaying every tx_id sent (answered or not) records nothing beyond one order per tx_id; the access token still works', async () => {
    const dir = tempDir();
    const env = dbEnv(dir);
    // The first CLI run creates and migrates the database; the others then only add rows.
    const c = await cliClient(env);
    const [user] = await Promise.all([cliUser(env), cli('item:create', item('ITEM_K'), env)]);
    const port = await freePort();
    let server = await spawnServer({ ...env, PORT: String(port) });
    const token = await seedToken(server.base, c, user);

    // The stream: distinct tx_ids, 8 at a time; SIGKILL once 80 have been answered.
    const TOTAL = 1000;
    const CONCURRENCY = 8;
    const KILL_AFTER = 80;
    const sent: string[] = [];
    const succeeded = new Set<string>();
    const otherAnswers: { tx: string; status: number; text: string }[] = [];
    let failedBeforeKill = 0;
    let failedAfterKill = 0;
    let inFlightAtKill = -1;
    let killedAt = 0;
    let inFlight = 0;
    let next = 0;
    const worker = async () => {
      while (!killedAt && next < TOTAL) {
        const tx = `KILL-${String(next++).padStart(5, '0')}`;
        sent.push(tx);
        inFlight++;
        try {
          const res = await buy(server.base, token, 'ITEM_K', tx);
          if (res.status === 200 && res.body?.success === true) succeeded.add(tx);
          else otherAnswers.push({ tx, status: res.status, text: res.text });
          if (succeeded.size >= KILL_AFTER && !killedAt) {
            killedAt = Date.now();
            inFlightAtKill = inFlight - 1;
            server.child.kill('SIGKILL');
          }
        } catch {
          if (killedAt) failedAfterKill++;
          else failedBeforeKill++;
        } finally {
          inFlight--;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const exit = await server.exited;

    console.log(
      `kill -9: ${sent.length} purchases sent, ${succeeded.size} answered with success, ` +
        `${inFlightAtKill} in flight at the kill, ${failedAfterKill} cut off by it`,
    );
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    // The server died mid-stream: other requests were on the wire when it did.
    expect(inFlightAtKill).toBeGreaterThan(0);
    expect(sent.length).toBeGreaterThan(succeeded.size);
    // Until the kill, every purchase was answered, and answered with success.
    expect(failedBeforeKill).toBe(0);
    expect(otherAnswers).toEqual([]);

    // Restart on the same database, same port and issuer.
    server = await spawnServer({ ...env, PORT: String(port) });

    // Tokens are stored: the one issued before the crash still works.
    const me = await call(server.base, '/api/me', { token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ code: 0, success: true, username: user.username });

    const recorded = (await allOrders(server.base, token, 37)).map((o: Json) => o.tx_id as string);
    expect(new Set(recorded).size).toBe(recorded.length); // no tx_id twice
    expect(recorded.filter((tx) => !sent.includes(tx))).toEqual([]); // nothing that was never sent
    expect([...succeeded].filter((tx) => !recorded.includes(tx))).toEqual([]); // nothing answered with success is lost
    console.log(
      `after restart: ${recorded.length} orders (${recorded.length - succeeded.size} committed but not answered before the kill)`,
    );

    // A client that never heard back retries everything it sent: success for each, one order per tx_id.
    const replays = await pool(sent, CONCURRENCY, (tx) => buy(server.base, token, 'ITEM_K', tx));
    for (const res of replays) expectBought(res);
    const after = (await allOrders(server.base, token, 50)).map((o: Json) => o.tx_id as string);
    expect([...after].sort()).toEqual([...sent].sort());

    // A second replay of a few, at once: still nothing new.
    await Promise.all(
      sent.slice(0, 10).flatMap((tx) => [buy(server.base, token, 'ITEM_K', tx), buy(server.base, token, 'ITEM_K', tx)]),
    );
    expect(await allOrders(server.base, token, 200)).toHaveLength(sent.length);

    expect(await server.stop()).toEqual({ code: 0, signal: null });
    // The file itself survived the crash intact, and holds exactly one row per tx_id.
    const db = readOnly(dir);
    expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }]);
    const rows = db.prepare('SELECT "txId", COUNT(*) AS n FROM "Order" GROUP BY "txId"').all() as {
      txId: string;
      n: number;
    }[];
    expect(rows).toHaveLength(sent.length);
    expect(rows.every((r) => r.n === 1)).toBe(true);
  }, 90_000);
});

describe('the scheduled purge of expired artifacts', () => {
  test('a backlog of expired codes, sessions, interactions, grants and tokens made by real flows (over 1000 rows, more than one batch) is purged on the schedule (PURGE_INTERVAL=1) while requests keep being answered quickly', async () => {
    const dir = tempDir();
    const ttls = {
      AUTHORIZATION_CODE_TTL: '2',
      INTERACTION_TTL: '4',
      SESSION_TTL: '4',
      GRANT_TTL: '4',
      ACCESS_TOKEN_TTL: '3',
      REFRESH_TOKEN_TTL: '4',
      CLIENT_CREDENTIALS_TTL: '1',
    };
    const env = { ...dbEnv(dir), ...ttls, LOG_LEVEL: 'info' }; // the purge reports what it deleted at info
    const web = await cliClient(env);
    const [machine, user] = await Promise.all([cliClient(env, ['--grant-type', 'client_credentials']), cliUser(env)]);
    const db = readOnly(dir);
    const countByModel = () =>
      Object.fromEntries(
        (
          db.prepare('SELECT "model", COUNT(*) AS n FROM "OidcArtifact" GROUP BY "model"').all() as {
            model: string;
            n: number;
          }[]
        ).map((r) => [r.model, r.n]),
      ) as Record<string, number>;
    const total = () => (db.prepare('SELECT COUNT(*) AS n FROM "OidcArtifact"').get() as { n: number }).n;

    /** Artifacts of every kind, through the flows that make them. */
    const makeArtifacts = async (base: string, machineTokens: number) => {
      // An interaction nobody finishes: the login page is shown, then abandoned.
      for (let i = 0; i < 5; i++) {
        const page = await new UserAgent(base).navigate(
          `${base}/oauth/authorize?response_type=code&client_id=${web.client_id}&scope=profile&state=s${i}`,
        );
        expect(isPage(page) && page.html.includes('/login"')).toBe(true);
      }
      // Finished flows whose codes are never redeemed: a session, a grant and a code each.
      for (let i = 0; i < 3; i++) await authorizationCode(base, web, user, 'profile buy');
      // Redeemed: an access token and a refresh token (offline_access needs prompt=consent).
      for (let i = 0; i < 2; i++) {
        const { code } = await authorizationCode(base, web, user, 'openid offline_access profile', {
          prompt: 'consent',
        });
        const res = await postForm(`${base}/oauth/token`, web, { grant_type: 'authorization_code', code });
        expect(res.status).toBe(200);
        expect(res.body.refresh_token).toEqual(expect.any(String));
      }
      // Short-lived machine tokens.
      const issued = await pool(
        Array.from({ length: machineTokens }),
        4,
        async () =>
          (await postForm(`${base}/oauth/token`, machine, { grant_type: 'client_credentials', scope: 'buy' })).status,
      );
      expect(issued.filter((s) => s !== 200)).toEqual([]);
    };

    // A backlog: a node that does not purge (PURGE_INTERVAL=0) leaves its artifacts behind.
    const first = await spawnServer({ ...env, PURGE_INTERVAL: '0' });
    const CC = 1200;
    await makeArtifacts(first.base, CC);
    expect(await first.stop()).toEqual({ code: 0, signal: null });
    const backlog = countByModel();
    for (const model of [
      'Interaction',
      'Session',
      'Grant',
      'AuthorizationCode',
      'AccessToken',
      'RefreshToken',
      'ClientCredentials',
    ]) {
      expect({ model, present: (backlog[model] ?? 0) > 0 }).toEqual({ model, present: true });
    }
    const backlogRows = total();
    expect(backlogRows).toBeGreaterThan(CC);
    // Every one of them has expired before the purging node starts.
    const lastExpiry = (db.prepare('SELECT MAX("expiresAt") AS t FROM "OidcArtifact"').get() as { t: string }).t;
    await sleep(Math.max(0, new Date(lastExpiry).getTime() - Date.now() + 100));

    const server = await spawnServer({ ...env, PURGE_INTERVAL: '1' });
    const startedAt = Date.now();

    // Requests that must keep being answered, and quickly, the whole time.
    const latencies: number[] = [];
    const probeFailures: string[] = [];
    let probing = true;
    const probe = (async () => {
      while (probing) {
        for (const path of ['/healthz', '/api/items', '/.well-known/openid-configuration']) {
          const t = performance.now();
          try {
            const res = await fetch(`${server.base}${path}`, { signal: AbortSignal.timeout(5000) });
            await res.arrayBuffer();
            if (res.status !== 200) probeFailures.push(`${path}: ${res.status}`);
          } catch (err) {
            probeFailures.push(`${path}: ${(err as Error).message}`);
          }
          latencies.push(performance.now() - t);
        }
        await sleep(10);
      }
    })();
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(total()), 100);

    let emptiedAfter = NaN;
    try {
      // Meanwhile, new artifacts keep being made (and expire in turn).
      await makeArtifacts(server.base, 100);
      // Every artifact has a TTL of at most 4 s: the table empties by itself.
      await waitFor('the OidcArtifact table to be empty', async () => total() === 0, 20_000, 100);
      emptiedAfter = Date.now() - startedAt;
    } catch (err) {
      throw new Error(
        `${(err as Error).message}; left: ${JSON.stringify(countByModel())}\n${server.output().slice(-2500)}`,
      );
    } finally {
      probing = false;
      await probe;
      clearInterval(sampler);
    }

    const purgedLines = server
      .stdout()
      .split('\n')
      .filter((l) => l.includes('purged expired artifacts'))
      .map((l) => JSON.parse(l) as { count: number });
    const purged = purgedLines.reduce((sum, l) => sum + l.count, 0);
    const sorted = [...latencies].sort((x, y) => x - y);
    console.log(
      `purge: a backlog of ${backlogRows} expired rows ${JSON.stringify(backlog)}; table empty ${emptiedAfter} ms after the purging node started; ` +
        `${purged} rows purged in ${purgedLines.length} runs; ${latencies.length} requests meanwhile: ` +
        `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${percentile(sorted, 100).toFixed(1)} ms`,
    );

    // The table shrank to nothing while nobody asked, and it was the purge that emptied it.
    expect(Math.max(...samples)).toBeGreaterThan(0);
    expect(purged).toBeGreaterThanOrEqual(backlogRows);
    expect(server.output()).not.toMatch(/purge failed/);
    // Requests were answered throughout, and none waited on the purge.
    expect(probeFailures).toEqual([]);
    expect(latencies.length).toBeGreaterThan(50);
    expect(percentile(sorted, 100)).toBeLessThan(1000);

    expect(await server.stop()).toEqual({ code: 0, signal: null });
  }, 90_000);
});

describe('SIGTERM', () => {
  test('drains: a purchase in flight when SIGTERM arrives completes with success and is recorded, then the process exits 0 within a few seconds', async () => {
    const dir = tempDir();
    const env = { ...dbEnv(dir), LOG_LEVEL: 'info' };
    const c = await cliClient(env);
    const [user] = await Promise.all([cliUser(env), cli('item:create', item('ITEM_T'), env)]);
    const server = await spawnServer(env);
    const token = await seedToken(server.base, c, user);

    // A client that keeps connections alive, as every HTTP library does, sending its body slowly.
    const agent = new Agent({ keepAlive: true });
    const body = Buffer.from(JSON.stringify({ item_id: 'ITEM_T', tx_id: 'DRAIN-1', buy_at: '2023-09-01 13:22:22' }));
    const half = Math.floor(body.length / 2);
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        `${server.base}/api/items/buy`,
        {
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': String(body.length),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, half));
      setTimeout(() => {
        // The request is in the server's hands (headers and half the body) when SIGTERM arrives.
        server.child.kill('SIGTERM');
        setTimeout(() => {
          // Still draining: it waits for this request instead of exiting under it.
          if (!server.alive()) reject(new Error(`exited while a request was in flight:\n${server.output()}`));
          req.end(body.subarray(half));
        }, 700);
      }, 300);
    });
    const res = await answer;
    const answeredAt = Date.now();
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ code: 0, success: true, msg: '購買成功', ts: expect.any(Number) });
    const db = readOnly(dir);
    expect(db.prepare('SELECT COUNT(*) AS n FROM "Order" WHERE "txId" = ?').get('DRAIN-1')).toEqual({ n: 1 });

    const exit = await within(server.exited, 8000);
    const exitMs = Date.now() - answeredAt;
    console.log(
      `SIGTERM: the in-flight purchase answered 200; the process exited ${exitMs} ms later (${JSON.stringify(exit)})`,
    );
    agent.destroy();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(5000);
    expect(server.output()).toMatch(/"msg":"draining"/);
    expect(server.output()).toMatch(/"msg":"stopped"/);
    expect(server.output()).not.toMatch(/drain timed out/);
  }, 60_000);
});

describe('the first start', () => {
  test('prints the demo credentials, which work; a second start on the same database prints none; /healthz answers 200 once ready', async () => {
    const dir = tempDir();
    const env = { ...dbEnv(dir), SEED_DEMO: 'true' };
    const port = await freePort();

    const first = await spawnServer({ ...env, PORT: String(port) });
    console.log(`first start (migrations, keys, demo data): healthy after ${first.startMs} ms`);
    expect(first.startMs).toBeLessThan(15_000);
    const out = first.stdout();
    expect(out).toContain('First start: created a demo account and a demo client.');
    const password = /user: +demo \/ (\S+)/.exec(out)?.[1];
    const clientId = /client_id: +(\S+)/.exec(out)?.[1];
    const clientSecret = /client_secret: +(\S+)/.exec(out)?.[1];
    expect(/redirect_uri: +(\S+)/.exec(out)?.[1]).toBe(`${first.base}/demo/callback`);
    expect(password && clientId && clientSecret).toBeTruthy();

    // The printed credentials are the real thing: the seed's flow with them.
    const demoClient: Registered = { client_id: clientId!, client_secret: clientSecret! };
    const demoUser: Person = { id: '', username: 'demo', password: password!, server_id: 'demo_server' };
    const { code, callback } = await authorizationCode(first.base, demoClient, demoUser, 'profile buy buy_history');
    expect(callback.href.startsWith(`${first.base}/demo/callback?`)).toBe(true);
    const page = await fetch(callback);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(code);
    const token = await redeemMultipart(first.base, demoClient, code);
    expect(token.status).toBe(200);
    const me = await call(first.base, '/api/me', { token: token.body.access_token });
    expect(me.body).toEqual({
      code: 0,
      success: true,
      username: 'demo',
      server_id: 'demo_server',
      msg: '查詢成功',
      ts: expect.any(Number),
    });
    const items = await call(first.base, '/api/items');
    expect(items.body.items.map((i: Json) => i.item_id)).toEqual(['ITEM_001', 'ITEM_002', 'ITEM_003']);
    expect(await first.stop()).toEqual({ code: 0, signal: null });

    const second = await spawnServer({ ...env, PORT: String(port) });
    console.log(`second start (nothing to migrate or seed): healthy after ${second.startMs} ms`);
    expect(second.startMs).toBeLessThan(15_000);
    expect(second.output()).not.toContain('First start');
    expect(second.output()).not.toContain(password!);
    expect(second.output()).not.toContain(clientSecret!);
    expect(second.output()).not.toMatch(STACK);
    const health = await fetch(`${second.base}/healthz`);
    expect({ status: health.status, body: await health.json() }).toEqual({ status: 200, body: { status: 'ok' } });
    // Same demo data, not a second copy; the token from the first run still works.
    expect((await call(second.base, '/api/items')).body.items).toHaveLength(3);
    expect((await call(second.base, '/api/me', { token: token.body.access_token })).body).toMatchObject({
      username: 'demo',
    });
    expect(await second.stop()).toEqual({ code: 0, signal: null });
  }, 60_000);
});
