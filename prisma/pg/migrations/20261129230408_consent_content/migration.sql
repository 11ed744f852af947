-- Remembered consent now stores what was allowed (scopes, claims, resource
-- scopes) instead of the id of one grant shared by every session; each
-- authorization gets a grant of its own (README, "Consent and revocation").
-- The old rows only name a grant, whose content is in the library's JSON
-- payload and may have expired; rather than parse that here, they are
-- dropped: people are asked for consent once more, on their next
-- authorization of each client.
DELETE FROM "Consent";

-- AlterTable
ALTER TABLE "Consent" DROP COLUMN "grantId",
ADD COLUMN     "claims" TEXT NOT NULL,
ADD COLUMN     "resourceScopes" TEXT NOT NULL,
ADD COLUMN     "scopes" TEXT NOT NULL;
