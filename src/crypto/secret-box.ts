import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for channel credentials at rest. A sealed value reads
 * `enc:v1:<key id>:<iv>:<tag>:<ciphertext>` (base64url parts); the key id lets old
 * keys keep opening old values while new ones are sealed with the current key, so
 * keys rotate without a migration: set the new key, list the old under
 * PINGBACK_ENCRYPTION_OLD_KEYS, and re-save channels at leisure.
 */
const PREFIX = 'enc:v1:';

export class SecretBoxError extends Error {}

export function parseKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new SecretBoxError('must be 32 bytes, as 64 hex characters or base64');
  return key;
}

const keyId = (key: Buffer) => createHash('sha256').update(key).digest('base64url').slice(0, 8);

export class SecretBox {
  private readonly current: { id: string; key: Buffer };
  private readonly byId = new Map<string, Buffer>();

  constructor(key: Buffer, oldKeys: Buffer[] = []) {
    this.current = { id: keyId(key), key };
    for (const k of [key, ...oldKeys]) this.byId.set(keyId(k), k);
  }

  static isSealed(value: unknown): value is string {
    return typeof value === 'string' && value.startsWith(PREFIX);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ct].map((b) => b.toString('base64url'));
    return `${PREFIX}${this.current.id}:${parts.join(':')}`;
  }

  open(sealed: string): string {
    if (!SecretBox.isSealed(sealed)) throw new SecretBoxError('value is not sealed');
    const [id, iv, tag, ct] = sealed.slice(PREFIX.length).split(':');
    const key = this.byId.get(id);
    if (!key) throw new SecretBoxError(`sealed with an unknown key (${id}); is PINGBACK_ENCRYPTION_OLD_KEYS missing one?`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('sealed value failed authentication (tampered, or the wrong key)');
    }
  }
}
