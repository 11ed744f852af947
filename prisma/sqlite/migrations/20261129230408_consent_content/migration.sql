-- Remembered consent now stores what was allowed (scopes, claims, resource
-- scopes) instead of the id of one grant shared by every session; each
-- authorization gets a grant of its own (README, "Consent and revocation").
-- The old rows only name a grant, whose content is in the library's JSON
-- payload and may have expired; rather than parse that here, they are
-- dropped: people are asked for consent once more, on their next
-- authorization of each client.
DELETE FROM "Consent";

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Consent" (
    "accountId" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "scopes" TEXT NOT NULL,
    "claims" TEXT NOT NULL,
    "resourceScopes" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("accountId", "clientId")
);
DROP TABLE "Consent";
ALTER TABLE "new_Consent" RENAME TO "Consent";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
