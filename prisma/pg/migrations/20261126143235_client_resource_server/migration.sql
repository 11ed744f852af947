-- AlterTable
ALTER TABLE "OidcClient" ADD COLUMN     "resourceServer" BOOLEAN NOT NULL DEFAULT false;
