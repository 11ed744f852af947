// oidc-provider's storage adapter on Prisma: every model the library stores in
// one table (model, id, payload, the few fields it looks things up by, expiry,
// consumption), clients in their own table through ClientStore so that their
// secrets stay encrypted at rest. https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
import Provider, { type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Db } from '../db/client.js';
import type { ClientStore } from '../clients/store.js';
import { lostRace, lostRegistrationTokenRace } from './single-use.js';

/** The models whose rows carry a grantId: what revoking a grant deletes (lib/helpers/revoke.js). */
const ISSUED_UNDER_GRANT = ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest'];

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
    return this.#payload(await this.db.oidcArtifact.findFirst({ where: { model: this.model, uid } }));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#payload(await this.db.oidcArtifact.findFirst({ where: { model: this.model, userCode } }));
  }

  async consume(id: string): Promise<void> {
    // Single use, decided by the database: only an update that finds the row
    // still unconsumed counts, so of concurrent consumers (on any node)
    // exactly one sees count 1. The rest lost, even though the library's
    // earlier read told each of them the artifact was fresh.
    const { count } = await this.db.oidcArtifact.updateMany({ where: { model: this.model, id, consumedAt: null }, data: { consumedAt: new Date() } });
    if (count === 1) return;
    const outcome = lostRace(this.model);
    if (outcome.revokeGrant) {
      const row = await this.db.oidcArtifact.findUnique({ where: { model_id: { model: this.model, id } }, select: { grantId: true } });
      // Gone already: another loser (or a revocation) removed the whole grant.
      if (row?.grantId) await revokeGrant(this.db, row.grantId);
    }
    throw outcome.error;
  }

  async destroy(id: string): Promise<void> {
    const { count } = await this.db.oidcArtifact.deleteMany({ where: { model: this.model, id } });
    // Rotating a registration access token destroys the one presented: only the update that deleted it gets the next.
    if (count === 0 && this.model === 'RegistrationAccessToken' && Provider.ctx?.oidc.route === 'client_update') throw lostRegistrationTokenRace();
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

/** Everything issued under a grant, and the grant itself, in one statement. */
async function revokeGrant(db: Db, grantId: string): Promise<void> {
  await db.oidcArtifact.deleteMany({ where: { OR: [{ model: { in: ISSUED_UNDER_GRANT }, grantId }, { model: 'Grant', id: grantId }] } });
  const ctx = Provider.ctx;
  ctx?.oidc.provider.emit('grant.revoked', ctx, grantId);
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
