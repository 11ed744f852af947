-- AlterTable
ALTER TABLE "OidcClient" ADD COLUMN "ownerId" TEXT;

-- CreateIndex
CREATE INDEX "OidcClient_ownerId_idx" ON "OidcClient"("ownerId");
