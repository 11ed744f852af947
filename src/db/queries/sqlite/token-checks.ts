// The API's token check on better-sqlite3: one prepared statement, each join
// on an index (the artifact's primary key, (model, uid), Account's primary key).
import type { AccessTokenRows, StoredArtifact, TokenCheckQueries } from '../token-checks.js';
import { fromSqliteDate, type SqliteConnection } from './connection.js';

interface Row {
  payload: string;
  expiresAt: unknown;
  consumedAt: unknown;
  grantPayload: string | null;
  grantExpiresAt: unknown;
  grantConsumedAt: unknown;
  sessionPayload: string | null;
  sessionExpiresAt: unknown;
  sessionConsumedAt: unknown;
  accountId: string | null;
  username: string;
  serverId: string;
  email: string | null;
  name: string | null;
  createdAt: string | number;
}

const stored = (payload: string, expiresAt: unknown, consumedAt: unknown): StoredArtifact => ({
  payload,
  expiresAt: fromSqliteDate(expiresAt),
  consumedAt: fromSqliteDate(consumedAt),
});

// The library's session lookup is findByUid (LIMIT 1 in the adapter); the uid
// is unique in practice, so .get() taking the first row answers the same.
const ACCESS_TOKEN = `
  SELECT t."payload", t."expiresAt", t."consumedAt",
    g."payload" AS "grantPayload", g."expiresAt" AS "grantExpiresAt", g."consumedAt" AS "grantConsumedAt",
    s."payload" AS "sessionPayload", s."expiresAt" AS "sessionExpiresAt", s."consumedAt" AS "sessionConsumedAt",
    a."id" AS "accountId", a."username", a."serverId", a."email", a."name", a."createdAt"
  FROM "OidcArtifact" t
  LEFT JOIN "OidcArtifact" g ON g."model" = 'Grant' AND g."id" = t."grantId"
  LEFT JOIN "OidcArtifact" s ON s."model" = 'Session' AND s."uid" = json_extract(t."payload", '$.sessionUid')
  LEFT JOIN "Account" a ON a."id" = json_extract(t."payload", '$.accountId')
  WHERE t."model" = 'AccessToken' AND t."id" = ?`;

export function sqliteTokenChecks(conn: SqliteConnection): TokenCheckQueries {
  const accessToken = conn.statement(ACCESS_TOKEN);
  return {
    async accessToken(id) {
      const row = accessToken().get(id) as Row | undefined;
      if (!row) return undefined;
      const found: AccessTokenRows = { token: stored(row.payload, row.expiresAt, row.consumedAt) };
      if (row.grantPayload !== null) found.grant = stored(row.grantPayload, row.grantExpiresAt, row.grantConsumedAt);
      if (row.sessionPayload !== null)
        found.session = stored(row.sessionPayload, row.sessionExpiresAt, row.sessionConsumedAt);
      if (row.accountId !== null)
        found.account = {
          id: row.accountId,
          username: row.username,
          serverId: row.serverId,
          email: row.email,
          name: row.name,
          createdAt: fromSqliteDate(row.createdAt),
        };
      return found;
    },
  };
}
