// Signing keys: generated on first start, kept in the database (sealed with
// SECRET_KEY) so every node signs with the same keys, served at /oauth/jwks.
// A key is staged (published, not signing), active (signs) or retired
// (published until the tokens it signed have expired). The library signs
// with the first key of the wanted algorithm: active keys come first.
//
// Rotation on several nodes follows the library's advice (docs, `jwks`):
// stage, restart every node (all now publish the new keys), activate,
// restart every node (all now sign with them). One node can do both at once.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Db } from '../db/client.js';
import type { SecretBox } from '../db/secret-box.js';

/** RS256 is what every client supports; ES256 is smaller and faster. */
export const SIGNING_ALGS = ['RS256', 'ES256'] as const;
type Alg = (typeof SIGNING_ALGS)[number];

/**
 * Stores a new key, active or staged; undefined when another node stored one
 * first (at most one of each per algorithm, by partial unique indexes).
 */
async function newKey(db: Db, box: SecretBox, alg: Alg, state: 'active' | 'staged'): Promise<string | undefined> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  try {
    await db.signingKey.create({
      data: { kid, alg, activatedAt: state === 'active' ? new Date() : null, jwkEncrypted: box.seal('signing-key', JSON.stringify({ ...jwk, kid, alg, use: 'sig' })) },
    });
    return kid;
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') return undefined;
    throw err;
  }
}

const ACTIVE = { retiredAt: null, activatedAt: { not: null } } as const;
const STAGED = { retiredAt: null, activatedAt: null } as const;

/** Creates an active key for each algorithm that has none. Returns the new kids. */
export async function ensureSigningKeys(db: Db, box: SecretBox): Promise<string[]> {
  const created: string[] = [];
  for (const alg of SIGNING_ALGS) {
    const kid = (await db.signingKey.findFirst({ where: { alg, ...ACTIVE } })) ? undefined : await newKey(db, box, alg, 'active');
    if (kid) created.push(kid);
  }
  return created;
}

/** The private JWKS for the provider: active, then staged, then retired keys still within `retention` seconds. */
export async function loadJwks(db: Db, box: SecretBox, retention: number, now = new Date()): Promise<{ keys: JWK[] }> {
  const rows = await db.signingKey.findMany({
    where: { OR: [{ retiredAt: null }, { retiredAt: { gt: new Date(now.getTime() - retention * 1000) } }] },
    orderBy: { createdAt: 'desc' },
  });
  const rank = (r: (typeof rows)[number]) => (r.retiredAt ? 2 : r.activatedAt ? 0 : 1);
  const ordered = rows.sort((a, b) => rank(a) - rank(b));
  return { keys: ordered.map((r) => JSON.parse(box.open('signing-key', r.jwkEncrypted)) as JWK) };
}

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
  const expired = await db.signingKey.findMany({ where: { retiredAt: { lte: new Date(now.getTime() - retention * 1000) } } });
  await db.signingKey.deleteMany({ where: { kid: { in: expired.map((k) => k.kid) } } });
  result.deleted = expired.map((k) => k.kid);
  return result;
}

export interface Rotation {
  created: string[];
  retired: string[];
  deleted: string[];
}

/** Stage and activate at once: for one node, which picks both up at its next start. */
export async function rotateSigningKeys(db: Db, box: SecretBox, retention: number, now = new Date()): Promise<Rotation> {
  await stageSigningKeys(db, box);
  const { activated, retired, deleted } = await activateSigningKeys(db, retention, now);
  return { created: activated, retired, deleted };
}
