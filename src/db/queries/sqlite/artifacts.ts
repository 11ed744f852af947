// OidcArtifact on better-sqlite3: every statement prepared once, run
// synchronously (the driver is synchronous), its result handed back as a promise.
import { ISSUED_UNDER_GRANT, type Artifact, type ArtifactQueries } from '../artifacts.js';
import { fromSqliteDate, toSqliteDate, type SqliteConnection } from './connection.js';

interface Row {
  payload: string;
  grantId: string | null;
  expiresAt: unknown;
  consumedAt: unknown;
}

const COLUMNS = '"payload", "grantId", "expiresAt", "consumedAt"';

const artifact = (row: Row | undefined): Artifact | undefined =>
  row && {
    payload: row.payload,
    grantId: row.grantId,
    expiresAt: fromSqliteDate(row.expiresAt),
    consumedAt: fromSqliteDate(row.consumedAt),
  };

export function sqliteArtifacts(conn: SqliteConnection): ArtifactQueries {
  const find = conn.statement(`SELECT ${COLUMNS} FROM "OidcArtifact" WHERE "model" = ? AND "id" = ?`);
  // LIMIT 1: the library keeps uid and userCode unique; the index does not (prisma/schema.prisma says why).
  const findByUid = conn.statement(`SELECT ${COLUMNS} FROM "OidcArtifact" WHERE "model" = ? AND "uid" = ? LIMIT 1`);
  const findByUserCode = conn.statement(
    `SELECT ${COLUMNS} FROM "OidcArtifact" WHERE "model" = ? AND "userCode" = ? LIMIT 1`,
  );
  const upsert = conn.statement(
    `INSERT INTO "OidcArtifact" ("model", "id", "payload", "grantId", "userCode", "uid", "expiresAt") VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT ("model", "id") DO UPDATE SET "payload" = excluded."payload", "grantId" = excluded."grantId",
       "userCode" = excluded."userCode", "uid" = excluded."uid", "expiresAt" = excluded."expiresAt"`,
  );
  const consume = conn.statement(
    `UPDATE "OidcArtifact" SET "consumedAt" = ? WHERE "model" = ? AND "id" = ? AND "consumedAt" IS NULL`,
  );
  const destroy = conn.statement(`DELETE FROM "OidcArtifact" WHERE "model" = ? AND "id" = ?`);
  const revokeByGrantId = conn.statement(`DELETE FROM "OidcArtifact" WHERE "model" = ? AND "grantId" = ?`);
  const revokeGrant = conn.statement(
    `DELETE FROM "OidcArtifact" WHERE ("grantId" = ? AND "model" IN (${ISSUED_UNDER_GRANT.map(() => '?').join(', ')})) OR ("model" = 'Grant' AND "id" = ?)`,
  );
  const deleteExpired = conn.statement(
    `DELETE FROM "OidcArtifact" WHERE ("model", "id") IN (SELECT "model", "id" FROM "OidcArtifact" WHERE "expiresAt" <= ? LIMIT ?)`,
  );

  return {
    async find(model, id) {
      return artifact(find().get(model, id) as Row | undefined);
    },
    async findByUid(model, uid) {
      return artifact(findByUid().get(model, uid) as Row | undefined);
    },
    async findByUserCode(model, userCode) {
      return artifact(findByUserCode().get(model, userCode) as Row | undefined);
    },
    async upsert(a) {
      upsert().run(a.model, a.id, a.payload, a.grantId, a.userCode, a.uid, a.expiresAt && toSqliteDate(a.expiresAt));
    },
    async consume(model, id, at) {
      return consume().run(toSqliteDate(at), model, id).changes === 1;
    },
    async destroy(model, id) {
      return destroy().run(model, id).changes;
    },
    async revokeByGrantId(model, grantId) {
      revokeByGrantId().run(model, grantId);
    },
    async revokeGrant(grantId) {
      revokeGrant().run(grantId, ...ISSUED_UNDER_GRANT, grantId);
    },
    async deleteExpired(now, limit) {
      return deleteExpired().run(toSqliteDate(now), limit).changes;
    },
  };
}
