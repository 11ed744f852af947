// Authenticated encryption at rest (AES-256-GCM) for what the database must
// keep but a copy of the database alone must not reveal: client secrets and
// private signing keys. One key per purpose, derived from SECRET_KEY by HKDF,
// so a ciphertext of one kind can never be passed off as another.
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

export type SecretPurpose = 'client-secret' | 'signing-key';

export class SecretBox {
  readonly #keys = new Map<SecretPurpose, KeyObject>();

  constructor(private readonly secretKey: string) {}

  #key(purpose: SecretPurpose): KeyObject {
    let key = this.#keys.get(purpose);
    if (!key) {
      key = createSecretKey(Buffer.from(hkdfSync('sha256', this.secretKey, 'oidc-provider-koa', purpose, 32)));
      this.#keys.set(purpose, key);
    }
    return key;
  }

  /** → "v1.<iv>.<ciphertext>.<tag>", base64url parts. */
  seal(purpose: SecretPurpose, plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key(purpose), iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv, data, cipher.getAuthTag()]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  open(purpose: SecretPurpose, sealed: string): string {
    const [version, iv, data, tag] = sealed.split('.');
    if (version !== 'v1' || !iv || data === undefined || !tag) throw new Error('unrecognised sealed value');
    const decipher = createDecipheriv('aes-256-gcm', this.#key(purpose), Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }
}
