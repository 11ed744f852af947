// OidcArtifact on PostgreSQL: named prepared statements, one round trip each.
import type pg from 'pg';
import { ISSUED_UNDER_GRANT, type Artifact, type ArtifactQueries } from '../artifacts.js';
import { run, toPgTimestamp } from './connection.js';

interface Row {
  payload: string;
  grantId: string | null;
  expiresAt: Date | null;
  consumedAt: Date | null;
}

const COLUMNS = '"payload", "grantId", "expiresAt", "consumedAt"';

const S = {
  find: { name: 'artifact_find', text: `SELECT ${COLUMNS} FROM "OidcArtifact" WHERE "model" = $1 AND "id" = $2` },
  // LIMIT 1: the library keeps uid and userCode unique; the index does not (prisma/schema.prisma says why).
  findByUid: {
    name: 'artifact_find_by_uid',
    text: `SELECT ${COLUMNS} FROM "OidcArtifact" WHERE "model" = $1 AND "uid" = $2 LIMIT 1`,
  },
  findByUserCode: {
    name: 'artifact_find_by_user_code',
    text: `SELECT ${COLUMNS} FROM "OidcArtifact" WHERE "model" = $1 AND "userCode" = $2 LIMIT 1`,
  },
  // Race-free on the primary key alone: ON CONFLICT takes the row lock, and
  // there is no other unique index to raise a violation instead (migration
  // 20261129232142_artifact_lookup_not_unique).
  upsert: {
    name: 'artifact_upsert',
    text: `INSERT INTO "OidcArtifact" ("model", "id", "payload", "grantId", "userCode", "uid", "expiresAt") VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT ("model", "id") DO UPDATE SET "payload" = excluded."payload", "grantId" = excluded."grantId",
             "userCode" = excluded."userCode", "uid" = excluded."uid", "expiresAt" = excluded."expiresAt"`,
  },
  // Under READ COMMITTED a second concurrent UPDATE waits for the first,
  // re-checks "consumedAt" IS NULL on the committed row and updates nothing.
  consume: {
    name: 'artifact_consume',
    text: `UPDATE "OidcArtifact" SET "consumedAt" = $1 WHERE "model" = $2 AND "id" = $3 AND "consumedAt" IS NULL`,
  },
  destroy: { name: 'artifact_destroy', text: `DELETE FROM "OidcArtifact" WHERE "model" = $1 AND "id" = $2` },
  revokeByGrantId: {
    name: 'artifact_revoke_by_grant_id',
    text: `DELETE FROM "OidcArtifact" WHERE "model" = $1 AND "grantId" = $2`,
  },
  revokeGrant: {
    name: 'artifact_revoke_grant',
    text: `DELETE FROM "OidcArtifact" WHERE ("grantId" = $1 AND "model" = ANY($2::text[])) OR ("model" = 'Grant' AND "id" = $1)`,
  },
  deleteExpired: {
    name: 'artifact_delete_expired',
    text: `DELETE FROM "OidcArtifact" WHERE ("model", "id") IN (SELECT "model", "id" FROM "OidcArtifact" WHERE "expiresAt" <= $1 LIMIT $2)`,
  },
};

export function pgArtifacts(pool: pg.Pool): ArtifactQueries {
  const one = async (statement: (typeof S)[keyof typeof S], values: unknown[]): Promise<Artifact | undefined> =>
    (await run<Row>(pool, statement, values)).rows[0];
  const issuedUnderGrant = [...ISSUED_UNDER_GRANT];
  return {
    find: (model, id) => one(S.find, [model, id]),
    findByUid: (model, uid) => one(S.findByUid, [model, uid]),
    findByUserCode: (model, userCode) => one(S.findByUserCode, [model, userCode]),
    async upsert(a) {
      await run(pool, S.upsert, [
        a.model,
        a.id,
        a.payload,
        a.grantId,
        a.userCode,
        a.uid,
        a.expiresAt && toPgTimestamp(a.expiresAt),
      ]);
    },
    async consume(model, id, at) {
      return (await run(pool, S.consume, [toPgTimestamp(at), model, id])).rowCount === 1;
    },
    async destroy(model, id) {
      return (await run(pool, S.destroy, [model, id])).rowCount ?? 0;
    },
    async revokeByGrantId(model, grantId) {
      await run(pool, S.revokeByGrantId, [model, grantId]);
    },
    async revokeGrant(grantId) {
      await run(pool, S.revokeGrant, [grantId, issuedUnderGrant]);
    },
    async deleteExpired(now, limit) {
      return (await run(pool, S.deleteExpired, [toPgTimestamp(now), limit])).rowCount ?? 0;
    },
  };
}
