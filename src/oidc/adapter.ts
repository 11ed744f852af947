// oidc-provider's storage adapter on Prisma: every model the library stores in
// one table (model, id, payload, the few fields it looks things up by, expiry,
// consumption), clients in their own table through ClientStore so that their
// secrets stay encrypted at rest. https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Db } from '../db/client.js';
import type { ClientStore } from '../clients/store.js';

const epoch = (d: Date) => Math.floor(d.getTime() / 1000);

class ArtifactAdapter implements Adapter {
  constructor(
    private readonly db: Db,
    private readonly model: string,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const data = {
      payload: JSON.stringify(payload),
      grantId: payload.grantId ?? null,
      userCode: payload.userCode ?? null,
      uid: payload.uid ?? null,
      expiresAt: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
    };
    await this.db.oidcArtifact.upsert({
      where: { model_id: { model: this.model, id } },
      create: { model: this.model, id, ...data },
      update: data,
    });
  }

  #payload(row: { payload: string; expiresAt: Date | null; consumedAt: Date | null } | null): AdapterPayload | undefined {
    // Expired rows wait for the purge job; to the library they are gone.
    if (!row || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    return row.consumedAt ? { ...payload, consumed: epoch(row.consumedAt) } : payload;
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#payload(await this.db.oidcArtifact.findUnique({ where: { model_id: { model: this.model, id } } }));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#payload(await this.db.oidcArtifact.findUnique({ where: { model_uid: { model: this.model, uid } } }));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#payload(await this.db.oidcArtifact.findUnique({ where: { model_userCode: { model: this.model, userCode } } }));
  }

  async consume(id: string): Promise<void> {
    // Only the first consumption counts: a replayed code keeps its first timestamp.
    await this.db.oidcArtifact.updateMany({ where: { model: this.model, id, consumedAt: null }, data: { consumedAt: new Date() } });
  }

  async destroy(id: string): Promise<void> {
    await this.db.oidcArtifact.deleteMany({ where: { model: this.model, id } });
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.db.oidcArtifact.deleteMany({ where: { model: this.model, grantId } });
  }
}

class ClientAdapter implements Adapter {
  constructor(private readonly clients: ClientStore) {}

  async upsert(id: string, payload: AdapterPayload): Promise<void> {
    await this.clients.save({ ...payload, client_id: id });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.clients.find(id);
  }

  async destroy(id: string): Promise<void> {
    await this.clients.delete(id);
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async consume(): Promise<void> {}

  async revokeByGrantId(): Promise<void> {}
}

/** The `adapter` option: a factory the library calls once per model name. */
export function prismaAdapter(db: Db, clients: ClientStore) {
  return (model: string): Adapter => (model === 'Client' ? new ClientAdapter(clients) : new ArtifactAdapter(db, model));
}

/**
 * Deletes expired artifacts (and expired throttling counters); returns how many. Rows past expiry are already
 * invisible to find(), so this only reclaims space. It works in small
 * batches and yields between them: SQLite runs on the event loop's thread,
 * and one huge DELETE would stall every request meanwhile.
 */
export async function purgeExpired(db: Db, now = new Date(), batch = 500): Promise<number> {
  let total = (await db.rateLimit.deleteMany({ where: { expire: { lte: now } } })).count;
  for (;;) {
    const rows = await db.oidcArtifact.findMany({ where: { expiresAt: { lte: now } }, select: { model: true, id: true }, take: batch });
    // One DELETE per model with `id IN (...)`: a batch binds at most batch + 1
    // values, under SQLite's limit of 999 bound parameters per statement.
    const byModel = Map.groupBy(rows, (r) => r.model);
    for (const [model, ids] of byModel) {
      total += (await db.oidcArtifact.deleteMany({ where: { model, id: { in: ids.map((r) => r.id) } } })).count;
    }
    if (rows.length < batch) return total;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
