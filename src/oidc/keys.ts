// Signing keys: generated on first start, kept in the database (sealed with
// SECRET_KEY) so every node signs with the same keys, served at /oauth/jwks.
// A key is staged (published, not signing), active (signs) or retired
// (published until the tokens it signed have expired). The library signs
// with the first key of the wanted algorithm: active keys come first.
//
// Rotation on several nodes follows the library's advice (docs, `jwks`):
// stage (every node publishes the new keys), then activate (every node signs
// with them). Running nodes read the keys every KEY_REFRESH_INTERVAL seconds
// (src/oidc/key-refresh.ts), so the two steps need no restart, only that
// long between them (activationWait). One node can do both at once.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Db } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import type { SecretBox } from '../db/secret-box.js';

/** RS256 is what every client supports; ES256 is smaller and faster. */
export const SIGNING_ALGS = ['RS256', 'ES256'] as const;
type Alg = (typeof SIGNING_ALGS)[number];

/**
 * Stores a new key, active or staged; undefined when another node stored one
 * first (at most one of each per algorithm, by partial unique indexes).
 */
async function newKey(db: Db, box: SecretBox, alg: Alg, state: 'active' | 'staged'): Promise<string | undefined> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
  });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  try {
    // createdAt from this process's clock, which activationWait compares
    // with the clock of the --activate run (usually the same host).
    await db.signingKey.create({
      data: {
        kid,
        alg,
        createdAt: new Date(),
        activatedAt: state === 'active' ? new Date() : null,
        jwkEncrypted: box.seal('signing-key', JSON.stringify({ ...jwk, kid, alg, use: 'sig' })),
      },
    });
    return kid;
  } catch (err) {
    if (isUniqueViolation(err)) return undefined;
    throw err;
  }
}

const ACTIVE = { retiredAt: null, activatedAt: { not: null } } as const;
const STAGED = { retiredAt: null, activatedAt: null } as const;

/** Creates an active key for each algorithm that has none. Returns the new kids. */
export async function ensureSigningKeys(db: Db, box: SecretBox): Promise<string[]> {
  const created: string[] = [];
  for (const alg of SIGNING_ALGS) {
    const kid = (await db.signingKey.findFirst({ where: { alg, ...ACTIVE } }))
      ? undefined
      : await newKey(db, box, alg, 'active');
    if (kid) created.push(kid);
  }
  return created;
}

export interface StoredKey {
  kid: string;
  alg: string;
  createdAt: Date;
  activatedAt: Date | null;
  retiredAt: Date | null;
  jwkEncrypted: string;
}

const stateOf = (k: StoredKey) => (k.retiredAt ? 'retired' : k.activatedAt ? 'active' : 'staged');
const RANK = { active: 0, staged: 1, retired: 2 } as const;

/**
 * The keys to publish, in one query: active, then staged, then retired keys
 * still within `retention` seconds, newest first within each state.
 */
export async function readSigningKeys(db: Db, retention: number, now = new Date()): Promise<StoredKey[]> {
  const rows = await db.signingKey.findMany({
    where: { OR: [{ retiredAt: null }, { retiredAt: { gt: new Date(now.getTime() - retention * 1000) } }] },
    orderBy: { createdAt: 'desc' },
  });
  return rows.sort((a, b) => RANK[stateOf(a)] - RANK[stateOf(b)]);
}

/** Which keys, in which state and order: equal for two reads exactly when the provider would be built the same. */
export function keySetId(keys: StoredKey[]): string {
  return keys.map((k) => `${k.kid}:${stateOf(k)}`).join(',');
}

/** Kids by state, for the log. */
export function keyStates(keys: StoredKey[]): Record<'active' | 'staged' | 'retired', string[]> {
  const states = { active: [] as string[], staged: [] as string[], retired: [] as string[] };
  for (const k of keys) states[stateOf(k)].push(k.kid);
  return states;
}

/** The private JWKS for the provider's `jwks` option, in the order of `keys`. */
export function openJwks(box: SecretBox, keys: StoredKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => JSON.parse(box.open('signing-key', k.jwkEncrypted)) as JWK) };
}

/** The private JWKS for the provider: active, then staged, then retired keys still within `retention` seconds. */
export async function loadJwks(db: Db, box: SecretBox, retention: number, now = new Date()): Promise<{ keys: JWK[] }> {
  return openJwks(box, await readSigningKeys(db, retention, now));
}

/**
 * A node publishes a staged key at its first key refresh after the staging:
 * within `refreshInterval` seconds, plus the refresh's own time (a query and
 * building the provider), for which a second is ample. Until then no node
 * may sign with it: a relying party asking another node for the JWKS would
 * not find the key. Returns the milliseconds left to wait (0: activate now),
 * or undefined when nothing is staged.
 */
export async function activationWait(db: Db, refreshInterval: number, now = new Date()): Promise<number | undefined> {
  const newest = await db.signingKey.findFirst({ where: STAGED, orderBy: { createdAt: 'desc' } });
  if (!newest) return undefined;
  return Math.max(0, newest.createdAt.getTime() + publishDelay(refreshInterval) - now.getTime());
}

/** Milliseconds from staging to "published by every node that can reach the database". */
export const publishDelay = (refreshInterval: number) => refreshInterval * 1000 + 1000;

/** Creates a staged key for each algorithm that has none yet. Returns the staged kids. */
export async function stageSigningKeys(db: Db, box: SecretBox): Promise<string[]> {
  const staged: string[] = [];
  for (const alg of SIGNING_ALGS) {
    const existing = await db.signingKey.findFirst({ where: { alg, ...STAGED } });
    const kid = existing?.kid ?? (await newKey(db, box, alg, 'staged'));
    if (kid) staged.push(kid);
  }
  return staged;
}

export interface Activation {
  activated: string[];
  retired: string[];
  deleted: string[];
}

/**
 * Staged keys become active and the active ones retire, per algorithm in one
 * transaction. Retired keys past `retention` seconds are deleted.
 */
export async function activateSigningKeys(db: Db, retention: number, now = new Date()): Promise<Activation> {
  const staged = await db.signingKey.findMany({ where: STAGED });
  const result: Activation = { activated: [], retired: [], deleted: [] };
  for (const key of staged) {
    const active = await db.signingKey.findMany({ where: { alg: key.alg, ...ACTIVE } });
    await db.$transaction([
      db.signingKey.updateMany({ where: { kid: { in: active.map((k) => k.kid) } }, data: { retiredAt: now } }),
      db.signingKey.update({ where: { kid: key.kid }, data: { activatedAt: now } }),
    ]);
    result.activated.push(key.kid);
    result.retired.push(...active.map((k) => k.kid));
  }
  const expired = await db.signingKey.findMany({
    where: { retiredAt: { lte: new Date(now.getTime() - retention * 1000) } },
  });
  await db.signingKey.deleteMany({ where: { kid: { in: expired.map((k) => k.kid) } } });
  result.deleted = expired.map((k) => k.kid);
  return result;
}

export interface Rotation {
  created: string[];
  retired: string[];
  deleted: string[];
}

/** Stage and activate at once: for one node, which picks both up at its next key refresh. */
export async function rotateSigningKeys(
  db: Db,
  box: SecretBox,
  retention: number,
  now = new Date(),
): Promise<Rotation> {
  await stageSigningKeys(db, box);
  const { activated, retired, deleted } = await activateSigningKeys(db, retention, now);
  return { created: activated, retired, deleted };
}
