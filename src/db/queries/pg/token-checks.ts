// The API's token check on PostgreSQL: one named prepared statement, one
// round trip, each join on an index (the artifact's primary key, (model,
// uid), Account's primary key). The payload is text: parsed once as json.
import type pg from 'pg';
import type { AccessTokenRows, StoredArtifact, TokenCheckQueries } from '../token-checks.js';
import { run } from './connection.js';

interface Row {
  payload: string;
  expiresAt: Date | null;
  consumedAt: Date | null;
  grantPayload: string | null;
  grantExpiresAt: Date | null;
  grantConsumedAt: Date | null;
  sessionPayload: string | null;
  sessionExpiresAt: Date | null;
  sessionConsumedAt: Date | null;
  accountId: string | null;
  username: string;
  serverId: string;
  email: string | null;
  name: string | null;
  createdAt: Date;
}

const ACCESS_TOKEN = {
  name: 'token_check_access_token',
  text: `
    SELECT t."payload", t."expiresAt", t."consumedAt",
      g."payload" AS "grantPayload", g."expiresAt" AS "grantExpiresAt", g."consumedAt" AS "grantConsumedAt",
      s."payload" AS "sessionPayload", s."expiresAt" AS "sessionExpiresAt", s."consumedAt" AS "sessionConsumedAt",
      a."id" AS "accountId", a."username", a."serverId", a."email", a."name", a."createdAt"
    FROM "OidcArtifact" t
    CROSS JOIN LATERAL (SELECT t."payload"::json AS j) p
    LEFT JOIN "OidcArtifact" g ON g."model" = 'Grant' AND g."id" = t."grantId"
    LEFT JOIN LATERAL (
      SELECT * FROM "OidcArtifact" WHERE "model" = 'Session' AND "uid" = p.j ->> 'sessionUid' LIMIT 1
    ) s ON true
    LEFT JOIN "Account" a ON a."id" = p.j ->> 'accountId'
    WHERE t."model" = 'AccessToken' AND t."id" = $1`,
};

const stored = (payload: string, expiresAt: Date | null, consumedAt: Date | null): StoredArtifact => ({
  payload,
  expiresAt,
  consumedAt,
});

export function pgTokenChecks(pool: pg.Pool): TokenCheckQueries {
  return {
    async accessToken(id) {
      const row = (await run<Row>(pool, ACCESS_TOKEN, [id])).rows[0];
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
          createdAt: row.createdAt,
        };
      return found;
    },
  };
}
