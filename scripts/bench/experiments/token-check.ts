// EXPERIMENT: what the in-process API check of one access token costs, the
// way it was (the library's AccessToken.find, which reads the session it is
// bound to, then Grant.find, then the account: four lookups) against the way
// it is (src/api/token-verifier.ts: one statement, judged by the library's
// rules). The real app in-process on a scratch SQLite file, a token from the
// real code flow; the two run in alternating rounds, sequentially, so load
// from elsewhere on the machine falls on both alike.
//
//   npx tsx scripts/bench/experiments/token-check.ts [--n 5000] [--rounds 6]
import { parseArgs } from 'node:util';
import { startServer } from '../../../tests/helpers/server.js';
import { UserAgent, authorize } from '../../../tests/helpers/user-agent.js';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '6' } },
});
const N = Number(values.n);
const ROUNDS = Number(values.rounds);

const server = await startServer();
try {
  const { prepared } = server;
  const c = await server.client();
  const user = await server.user();
  // No offline_access: the token expires with the session, so the old path reads the session too.
  const redirectUri = 'http://127.0.0.1:9999/cb';
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: c.client_id,
    redirect_uri: redirectUri,
    scope: 'openid profile',
  });
  const { callback } = await authorize(
    new UserAgent(server.issuer, { accept: 'text/html' }),
    `${server.issuer}/oauth/authorize?${query}`,
    { ...user, consent: 'allow' },
  );
  const res = await fetch(`${server.issuer}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}` },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code') ?? '',
      redirect_uri: redirectUri,
    }),
  });
  const token = ((await res.json()) as { access_token: string }).access_token;
  const provider = prepared.provider.current;

  const fourLookups = async () => {
    const t = await provider.AccessToken.find(token);
    if (!t?.grantId) throw new Error('no token');
    const grant = await provider.Grant.find(t.grantId);
    if (!grant || grant.accountId !== t.accountId) throw new Error('no grant');
    if (!(await prepared.accounts.findById(t.accountId))) throw new Error('no account');
  };
  const oneStatement = async () => {
    const info = await prepared.verifier.verify(token);
    if (!info?.account) throw new Error('no token');
  };

  const statementOnly = async () => {
    if (!(await prepared.database.queries.tokenChecks.accessToken(token))) throw new Error('no row');
  };

  const time = async (fn: () => Promise<void>) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await fn();
    return Number(process.hrtime.bigint() - start) / 1000 / N;
  };
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN;

  await time(fourLookups);
  await time(oneStatement);
  const before: number[] = [];
  const after: number[] = [];
  const raw: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    before.push(await time(fourLookups));
    after.push(await time(oneStatement));
    raw.push(await time(statementOnly));
  }
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
  console.log(`${N} checks per round, ${ROUNDS} rounds, µs per check`);
  console.log(
    `four lookups (AccessToken.find + session + Grant.find + account): median ${median(before).toFixed(1)}  [${fmt(before)}]`,
  );
  console.log(
    `one statement (token-checks, judged by the library's rules):     median ${median(after).toFixed(1)}  [${fmt(after)}]`,
  );
  console.log(
    `the statement alone, unjudged:                                   median ${median(raw).toFixed(1)}  [${fmt(raw)}]`,
  );
} finally {
  await server.close();
}
