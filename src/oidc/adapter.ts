// oidc-provider's storage adapter: every model the library stores in one
// table (model, id, payload, the few fields it looks things up by, expiry,
// consumption), clients in their own table through ClientStore so that their
// secrets stay encrypted at rest. https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
// Every call is on the request path, so it runs on the prepared statements of
// src/db/queries/artifacts.ts, not through Prisma.
import Provider, { type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Artifact, ArtifactQueries } from '../db/queries/artifacts.js';
import type { Queries } from '../db/queries/index.js';
import { storableKey } from '../db/keys.js';
import type { ClientStore } from '../clients/store.js';
import { lostRace, lostRegistrationTokenRace } from './single-use.js';

const epoch = (d: Date) => Math.floor(d.getTime() / 1000);

/** What the library is handed for a stored row; the API's token check (src/api/token-verifier.ts) reads rows the same way. */
export function payloadOf(row: Omit<Artifact, 'grantId'> | undefined): AdapterPayload | undefined {
  // Expired rows wait for the purge job; to the library they are gone.
  if (!row || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return undefined;
  const payload = JSON.parse(row.payload) as AdapterPayload;
  return row.consumedAt ? { ...payload, consumed: epoch(row.consumedAt) } : payload;
}

class ArtifactAdapter implements Adapter {
  constructor(
    private readonly artifacts: ArtifactQueries,
    private readonly model: string,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    await this.artifacts.upsert({
      model: this.model,
      id,
      payload: JSON.stringify(payload),
      grantId: payload.grantId ?? null,
      userCode: payload.userCode ?? null,
      uid: payload.uid ?? null,
      expiresAt: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
    });
  }

  // Ids, uids and user codes come from requests (a token, a cookie, a form field): any string at all.
  async find(id: string): Promise<AdapterPayload | undefined> {
    if (!storableKey(id)) return undefined;
    return payloadOf(await this.artifacts.find(this.model, id));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (!storableKey(uid)) return undefined;
    return payloadOf(await this.artifacts.findByUid(this.model, uid));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (!storableKey(userCode)) return undefined;
    return payloadOf(await this.artifacts.findByUserCode(this.model, userCode));
  }

  async consume(id: string): Promise<void> {
    // Single use, decided by the database: only an update that finds the row
    // still unconsumed counts, so of concurrent consumers (on any node)
    // exactly one wins. The rest lost, even though the library's earlier
    // read told each of them the artifact was fresh.
    if (await this.artifacts.consume(this.model, id, new Date())) return;
    const outcome = lostRace(this.model);
    if (outcome.revokeGrant) {
      const row = await this.artifacts.find(this.model, id);
      // Gone already: another loser (or a revocation) removed the whole grant.
      if (row?.grantId) await revokeGrant(this.artifacts, row.grantId);
    }
    throw outcome.error;
  }

  async destroy(id: string): Promise<void> {
    const count = await this.artifacts.destroy(this.model, id);
    // Rotating a registration access token destroys the one presented: only the update that deleted it gets the next.
    if (count === 0 && this.model === 'RegistrationAccessToken' && Provider.ctx?.oidc.route === 'client_update')
      throw lostRegistrationTokenRace();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.artifacts.revokeByGrantId(this.model, grantId);
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
async function revokeGrant(artifacts: ArtifactQueries, grantId: string): Promise<void> {
  await artifacts.revokeGrant(grantId);
  const ctx = Provider.ctx;
  ctx?.oidc.provider.emit('grant.revoked', ctx, grantId);
}

/** The `adapter` option: a factory the library calls once per model name. */
export function storageAdapter(queries: Queries, clients: ClientStore) {
  return (model: string): Adapter =>
    model === 'Client' ? new ClientAdapter(clients) : new ArtifactAdapter(queries.artifacts, model);
}

/**
 * Deletes expired artifacts (and expired throttling counters); returns how many. Rows past expiry are already
 * invisible to find(), so this only reclaims space. It works in small
 * batches and yields between them: SQLite runs on the event loop's thread,
 * and one huge DELETE would stall every request meanwhile.
 */
export async function purgeExpired(queries: Queries, now = new Date(), batch = 500): Promise<number> {
  let total = await queries.rateLimits.deleteExpired(now);
  for (;;) {
    const deleted = await queries.artifacts.deleteExpired(now, batch);
    total += deleted;
    if (deleted < batch) return total;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
