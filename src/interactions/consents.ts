// Which grant an account gave a client, so consent is remembered across
// sessions (src/oidc/configuration.ts, loadExistingGrant).
import type { Db } from '../db/client.js';

export class Consents {
  constructor(private readonly db: Db) {}

  async find(accountId: string, clientId: string): Promise<string | undefined> {
    const row = await this.db.consent.findUnique({ where: { accountId_clientId: { accountId, clientId } } });
    return row?.grantId;
  }

  async remember(accountId: string, clientId: string, grantId: string): Promise<void> {
    await this.db.consent.upsert({
      where: { accountId_clientId: { accountId, clientId } },
      create: { accountId, clientId, grantId },
      update: { grantId },
    });
  }
}
