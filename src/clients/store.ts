// Registered clients as oidc-provider reads them: metadata in the database,
// the secret sealed with SECRET_KEY. Why encrypted and not hashed: the library
// compares the secret itself for client_secret_basic/post and signs with it
// for client_secret_jwt, so it must be able to read it back; a copy of the
// database alone still reveals nothing.
import type { ClientMetadata } from 'oidc-provider';
import type { Db } from '../db/client.js';
import type { SecretBox } from '../db/secret-box.js';
import { storableKey } from '../db/keys.js';

// The library looks its client up on every token, introspection and
// revocation request. Clients change rarely: a found client is kept in
// memory this long. A change made here is seen at once; one made on another
// node (a deleted client, a new secret) after at most this long.
const CACHE_MS = 10_000;
const CACHE_MAX = 1000;

export class ClientStore {
  readonly #cache = new Map<string, { metadata: ClientMetadata; resourceServer: boolean; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async #load(clientId: string) {
    // A client_id from a request can be any string.
    if (!storableKey(clientId)) return undefined;
    const hit = this.#cache.get(clientId);
    if (hit && hit.until > Date.now()) return hit;
    const row = await this.db.oidcClient.findUnique({ where: { clientId } });
    if (!row) {
      this.#cache.delete(clientId);
      return undefined;
    }
    const metadata = JSON.parse(row.metadata) as ClientMetadata;
    if (row.secretEncrypted) metadata.client_secret = this.box.open('client-secret', row.secretEncrypted);
    // Full: the oldest entry goes (a Map iterates in insertion order).
    const oldest = this.#cache.size >= CACHE_MAX ? this.#cache.keys().next() : undefined;
    if (oldest && !oldest.done) this.#cache.delete(oldest.value);
    const entry = { metadata, resourceServer: row.resourceServer, until: Date.now() + CACHE_MS };
    this.#cache.set(clientId, entry);
    return entry;
  }

  async find(clientId: string): Promise<ClientMetadata | undefined> {
    const entry = await this.#load(clientId);
    return entry ? structuredClone(entry.metadata) : undefined;
  }

  /** Whether the client was created as a resource server (it may introspect any token). */
  async isResourceServer(clientId: string): Promise<boolean> {
    return (await this.#load(clientId))?.resourceServer ?? false;
  }

  /**
   * `resourceServer` and `ownerId` only from our own client service, on
   * creation; an update never changes them.
   */
  async save(
    metadata: ClientMetadata,
    { resourceServer = false, ownerId }: { resourceServer?: boolean; ownerId?: string } = {},
  ): Promise<void> {
    const { client_secret: secret, ...rest } = metadata;
    const data = {
      metadata: JSON.stringify(rest),
      secretEncrypted: typeof secret === 'string' ? this.box.seal('client-secret', secret) : null,
    };
    await this.db.oidcClient.upsert({
      where: { clientId: metadata.client_id },
      create: { clientId: metadata.client_id, resourceServer, ownerId: ownerId ?? null, ...data },
      update: data,
    });
    this.#cache.delete(metadata.client_id);
  }

  async delete(clientId: string): Promise<void> {
    await this.db.oidcClient.deleteMany({ where: { clientId } });
    this.#cache.delete(clientId);
  }

  /** The clients a console account made, newest first, without their secrets. */
  async ownedBy(ownerId: string): Promise<ClientMetadata[]> {
    const rows = await this.db.oidcClient.findMany({
      where: { ownerId },
      orderBy: [{ createdAt: 'desc' }, { clientId: 'asc' }],
      select: { metadata: true },
    });
    return rows.map((row) => JSON.parse(row.metadata) as ClientMetadata);
  }

  /** One client of a console account, with its secret; undefined when it is someone else's or gone. */
  async findOwned(ownerId: string, clientId: string): Promise<ClientMetadata | undefined> {
    if (!storableKey(clientId)) return undefined;
    const row = await this.db.oidcClient.findFirst({ where: { clientId, ownerId }, select: { clientId: true } });
    return row ? this.find(row.clientId) : undefined;
  }

  /** The first client registered (on a first start, the demo client), without its secret. */
  async oldest(): Promise<ClientMetadata | undefined> {
    const row = await this.db.oidcClient.findFirst({
      orderBy: [{ createdAt: 'asc' }, { clientId: 'asc' }],
      select: { metadata: true },
    });
    return row ? (JSON.parse(row.metadata) as ClientMetadata) : undefined;
  }

  async count(): Promise<number> {
    return this.db.oidcClient.count();
  }
}
