-- AlterTable
ALTER TABLE "SigningKey" ADD COLUMN     "activatedAt" TIMESTAMP(3);

-- Written by hand (partial indexes and data are beyond Prisma's schema language):
-- keys active before this migration were activated when created; at most one
-- active and one staged key per algorithm.
UPDATE "SigningKey" SET "activatedAt" = "createdAt" WHERE "retiredAt" IS NULL;
DROP INDEX "SigningKey_one_active_per_alg";
CREATE UNIQUE INDEX "SigningKey_one_active_per_alg" ON "SigningKey"("alg") WHERE "retiredAt" IS NULL AND "activatedAt" IS NOT NULL;
CREATE UNIQUE INDEX "SigningKey_one_staged_per_alg" ON "SigningKey"("alg") WHERE "retiredAt" IS NULL AND "activatedAt" IS NULL;
