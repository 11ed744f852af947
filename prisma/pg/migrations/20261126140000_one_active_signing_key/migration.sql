-- Written by hand: Prisma's schema language has no partial indexes.
-- At most one active (not retired) signing key per algorithm, so that nodes
-- starting together on an empty database cannot each create their own.
CREATE UNIQUE INDEX "SigningKey_one_active_per_alg" ON "SigningKey"("alg") WHERE "retiredAt" IS NULL;
