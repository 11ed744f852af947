// The API's token check on better-sqlite3: one prepared statement, each row
// found through an index (the artifact's primary key, (model, uid), Account's
// primary key). Scalar subqueries rather than LEFT JOINs: measured on this
// SQLite, each LEFT JOIN added 30-45 µs to a 3-10 µs lookup, each subquery
// about nothing (scripts/bench/experiments/token-check.ts). A subquery gives
// one value, so each row comes back as a JSON array.
import type { AccessTokenRows, StoredArtifact, TokenCheckQueries } from '../token-checks.js';
import { fromSqliteDate, type SqliteConnection } from './connection.js';

interface Row {
  payload: string;
  expiresAt: unknown;
  consumedAt: unknown;
  grant: string | null;
  session: string | null;
  account: string | null;
}

type ArtifactArray = [payload: string, expiresAt: string | null, consumedAt: string | null];
type AccountArray = [
  id: string,
  username: string,
  serverId: string,
  email: string | null,
  name: string | null,
  createdAt: string,
];

const stored = (payload: string, expiresAt: unknown, consumedAt: unknown): StoredArtifact => ({
  payload,
  expiresAt: fromSqliteDate(expiresAt),
  consumedAt: fromSqliteDate(consumedAt),
});

// The library's session lookup is findByUid (LIMIT 1 in the adapter), here too.
const ACCESS_TOKEN = `
  SELECT t."payload", t."expiresAt", t."consumedAt",
    (SELECT json_array(g."payload", g."expiresAt", g."consumedAt") FROM "OidcArtifact" g
      WHERE g."model" = 'Grant' AND g."id" = t."grantId") AS "grant",
    (SELECT json_array(s."payload", s."expiresAt", s."consumedAt") FROM "OidcArtifact" s
      WHERE s."model" = 'Session' AND s."uid" = json_extract(t."payload", '$.sessionUid') LIMIT 1) AS "session",
    (SELECT json_array(a."id", a."username", a."serverId", a."email", a."name", a."createdAt") FROM "Account" a
      WHERE a."id" = json_extract(t."payload", '$.accountId')) AS "account"
  FROM "OidcArtifact" t
  WHERE t."model" = 'AccessToken' AND t."id" = ?`;

export function sqliteTokenChecks(conn: SqliteConnection): TokenCheckQueries {
  const accessToken = conn.statement(ACCESS_TOKEN);
  return {
    async accessToken(id) {
      const row = accessToken().get(id) as Row | undefined;
      if (!row) return undefined;
      const found: AccessTokenRows = { token: stored(row.payload, row.expiresAt, row.consumedAt) };
      if (row.grant !== null) found.grant = stored(...(JSON.parse(row.grant) as ArtifactArray));
      if (row.session !== null) found.session = stored(...(JSON.parse(row.session) as ArtifactArray));
      if (row.account !== null) {
        const [accountId, username, serverId, email, name, createdAt] = JSON.parse(row.account) as AccountArray;
        found.account = { id: accountId, username, serverId, email, name, createdAt: fromSqliteDate(createdAt) };
      }
      return found;
    },
  };
}
