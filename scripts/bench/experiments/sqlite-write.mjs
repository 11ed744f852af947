// EXPERIMENT: the cost of one OidcArtifact insert in SQLite (WAL,
// synchronous=NORMAL, one autocommit transaction per row, as the adapter
// does it) with the current indexes, with partial indexes on the nullable
// lookup columns, as a WITHOUT ROWID table, and with 10 rows per commit.
// better-sqlite3 with a reused statement, so only SQLite's own work counts.
//
//   node scripts/bench/experiments/sqlite-write.mjs [--n 20000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const Database = createRequire(import.meta.url)('better-sqlite3');
const { values } = parseArgs({ options: { n: { type: 'string', default: '20000' } } });
const N = Number(values.n);

const TABLE = `CREATE TABLE "OidcArtifact" ("model" TEXT NOT NULL, "id" TEXT NOT NULL, "payload" TEXT NOT NULL, "grantId" TEXT, "userCode" TEXT, "uid" TEXT, "expiresAt" DATETIME, "consumedAt" DATETIME, PRIMARY KEY ("model", "id"))`;
const CURRENT = [
  'CREATE INDEX "g" ON "OidcArtifact"("model", "grantId")',
  'CREATE INDEX "e" ON "OidcArtifact"("expiresAt")',
  'CREATE UNIQUE INDEX "u" ON "OidcArtifact"("model", "uid")',
  'CREATE UNIQUE INDEX "c" ON "OidcArtifact"("model", "userCode")',
];
const PARTIAL = [
  'CREATE INDEX "g" ON "OidcArtifact"("model", "grantId") WHERE "grantId" IS NOT NULL',
  'CREATE INDEX "e" ON "OidcArtifact"("expiresAt")',
  'CREATE UNIQUE INDEX "u" ON "OidcArtifact"("model", "uid") WHERE "uid" IS NOT NULL',
  'CREATE UNIQUE INDEX "c" ON "OidcArtifact"("model", "userCode") WHERE "userCode" IS NOT NULL',
];
const variants = [
  ['current schema (PK + 4 indexes)', TABLE, CURRENT, 1],
  ['partial indexes on grantId/uid/userCode', TABLE, PARTIAL, 1],
  ['WITHOUT ROWID + partial indexes', `${TABLE} WITHOUT ROWID`, PARTIAL, 1],
  ['current schema, 10 rows per commit', TABLE, CURRENT, 10],
];

const payload = JSON.stringify({
  iat: 1,
  exp: 2,
  accountId: 'x'.repeat(36),
  clientId: 'y'.repeat(24),
  kind: 'ClientCredentials',
  jti: 'z'.repeat(43),
  scope: 'buy',
  aud: 'http://127.0.0.1:5000/api',
});
const dir = mkdtempSync(join(tmpdir(), 'sqlite-write-'));
try {
  for (const [label, table, indexes, batch] of variants) {
    const db = new Database(join(dir, `${label.replace(/\W+/g, '-')}.db`));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(table);
    for (const sql of indexes) db.exec(sql);
    const insert = db.prepare(
      'INSERT INTO "OidcArtifact" ("model","id","payload","grantId","userCode","uid","expiresAt") VALUES (?,?,?,?,?,?,?) ON CONFLICT ("model","id") DO UPDATE SET "payload" = excluded."payload"',
    );
    const many = db.transaction((rows) => {
      for (const r of rows) insert.run(...r);
    });
    const row = (i) => [
      'ClientCredentials',
      `${i.toString(36)}-${'k'.repeat(38)}`,
      payload,
      null,
      null,
      null,
      Date.now() + 600_000,
    ];
    const t0 = performance.now();
    if (batch === 1) for (let i = 0; i < N; i++) insert.run(...row(i));
    else for (let i = 0; i < N; i += batch) many(Array.from({ length: batch }, (_, j) => row(i + j)));
    const us = ((performance.now() - t0) * 1000) / N;
    console.log(`${label.padEnd(42)} ${us.toFixed(1).padStart(7)} µs per row`);
    db.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
