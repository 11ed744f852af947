-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_OidcClient" (
    "clientId" TEXT NOT NULL PRIMARY KEY,
    "metadata" TEXT NOT NULL,
    "secretEncrypted" TEXT,
    "resourceServer" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_OidcClient" ("clientId", "createdAt", "metadata", "secretEncrypted", "updatedAt") SELECT "clientId", "createdAt", "metadata", "secretEncrypted", "updatedAt" FROM "OidcClient";
DROP TABLE "OidcClient";
ALTER TABLE "new_OidcClient" RENAME TO "OidcClient";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
