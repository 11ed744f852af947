// Registered clients as oidc-provider reads them: metadata in the database,
// the secret sealed with SECRET_KEY. Why encrypted and not hashed: the library
// compares the secret itself for client_secret_basic/post and signs with it
// for client_secret_jwt, so it must be able to read it back; a copy of the
// database alone still reveals nothing.
import type { ClientMetadata } from 'oidc-provider';
import type { Db } from '../db/client.js';
import type { SecretBox } from '../db/secret-box.js';

export class ClientStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async find(clientId: string): Promise<ClientMetadata | undefined> {
    const row = await this.db.oidcClient.findUnique({ where: { clientId } });
    if (!row) return undefined;
    const metadata = JSON.parse(row.metadata) as ClientMetadata;
    if (row.secretEncrypted) metadata.client_secret = this.box.open('client-secret', row.secretEncrypted);
    return metadata;
  }

  async save(metadata: ClientMetadata): Promise<void> {
    const { client_secret: secret, ...rest } = metadata;
    const data = {
      metadata: JSON.stringify(rest),
      secretEncrypted: typeof secret === 'string' ? this.box.seal('client-secret', secret) : null,
    };
    await this.db.oidcClient.upsert({ where: { clientId: metadata.client_id }, create: { clientId: metadata.client_id, ...data }, update: data });
  }

  async delete(clientId: string): Promise<void> {
    await this.db.oidcClient.deleteMany({ where: { clientId } });
  }

  async list(): Promise<ClientMetadata[]> {
    const rows = await this.db.oidcClient.findMany({ orderBy: { createdAt: 'asc' } });
    return rows.map((r) => ({ ...(JSON.parse(r.metadata) as ClientMetadata), client_id: r.clientId }));
  }
}
