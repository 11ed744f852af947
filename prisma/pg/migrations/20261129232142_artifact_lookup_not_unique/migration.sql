-- DropIndex
DROP INDEX "OidcArtifact_model_uid_key";

-- DropIndex
DROP INDEX "OidcArtifact_model_userCode_key";

-- CreateIndex
CREATE INDEX "OidcArtifact_model_uid_idx" ON "OidcArtifact"("model", "uid");

-- CreateIndex
CREATE INDEX "OidcArtifact_model_userCode_idx" ON "OidcArtifact"("model", "userCode");
