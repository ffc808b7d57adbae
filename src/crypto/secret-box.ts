import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for secrets at rest (channel credentials, webhook secrets) and for opaque
 * tokens handed out (widget cursors).
 *
 * One master key (PINGBACK_ENCRYPTION_KEY) serves several purposes, each with its own key
 * derived by HKDF, so a value sealed for one purpose never opens for another: a widget
 * cursor a stranger holds is no oracle for credentials. A value is also bound to where it
 * lives (`channel/<id>/config/smtp.password`) as GCM associated data, so a sealed value
 * copied into another channel's row, or another field, fails to open instead of leaking.
 *
 * A sealed value reads `enc:v2:<key id>:<iv>:<tag>:<ciphertext>` (base64url parts). The key
 * id names the master key, so old keys (PINGBACK_ENCRYPTION_OLD_KEYS) keep opening old values
 * while new ones are sealed with the current key, and `pingback keys rotate` re-seals every
 * stored value so the old keys can be dropped. `enc:v1:` values (before per-purpose keys:
 * the master key itself, no binding) still open for credentials until they are re-sealed.
 */
const V1 = 'enc:v1:';
const V2 = 'enc:v2:';

export type SealPurpose = 'credentials' | 'widget-cursor' | 'media-link' | 'temporal-payloads';

export class SecretBoxError extends Error {}

export function parseKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new SecretBoxError('must be 32 bytes, as 64 hex characters or base64');
  return key;
}

const keyId = (key: Buffer) => createHash('sha256').update(key).digest('base64url').slice(0, 8);

const derive = (master: Buffer, purpose: SealPurpose) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `pingback/${purpose}`, 32));

interface MasterKey {
  id: string;
  master: Buffer;
  derived: Buffer;
}

export class SecretBox {
  private readonly current: MasterKey;
  private readonly byId = new Map<string, MasterKey>();

  constructor(
    key: Buffer,
    private readonly oldKeys: Buffer[] = [],
    readonly purpose: SealPurpose = 'credentials',
  ) {
    for (const master of [key, ...oldKeys]) {
      const id = keyId(master);
      if (!this.byId.has(id)) this.byId.set(id, { id, master, derived: derive(master, purpose) });
    }
    this.current = this.byId.get(keyId(key))!;
  }

  /** The same keys, for another purpose. */
  for(purpose: SealPurpose): SecretBox {
    return new SecretBox(this.current.master, this.oldKeys, purpose);
  }

  static isSealed(value: unknown): value is string {
    return typeof value === 'string' && (value.startsWith(V2) || value.startsWith(V1));
  }

  /** Seals with the current key, bound to `boundTo` (where the value lives); open it with the same. */
  seal(plaintext: string, boundTo = ''): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.derived, iv);
    cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ct].map((b) => b.toString('base64url'));
    return `${V2}${this.current.id}:${parts.join(':')}`;
  }

  open(sealed: string, boundTo = ''): string {
    if (!SecretBox.isSealed(sealed)) throw new SecretBoxError('value is not sealed');
    const v1 = sealed.startsWith(V1);
    // v1 values predate purposes and binding; only credentials were ever sealed that way.
    if (v1 && this.purpose !== 'credentials') throw new SecretBoxError(`a v1 value does not open for ${this.purpose}`);
    const [id, iv, tag, ct, ...rest] = sealed.slice(V2.length).split(':');
    const key = this.byId.get(id);
    if (!key) throw new SecretBoxError(`sealed with an unknown key (${id}); is PINGBACK_ENCRYPTION_OLD_KEYS missing one?`);
    const ivBytes = Buffer.from(iv ?? '', 'base64url');
    const tagBytes = Buffer.from(tag ?? '', 'base64url');
    // Node takes a truncated tag unless told its length: a cursor from a stranger would then be forgeable.
    if (ivBytes.length !== 12 || tagBytes.length !== 16 || ct === undefined || rest.length > 0) throw new SecretBoxError('sealed value is malformed');
    try {
      const decipher = createDecipheriv('aes-256-gcm', v1 ? key.master : key.derived, ivBytes, { authTagLength: 16 });
      decipher.setAuthTag(tagBytes);
      if (!v1) decipher.setAAD(Buffer.from(boundTo, 'utf8'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('sealed value failed authentication (tampered, moved from where it was sealed, or the wrong key)');
    }
  }

  /**
   * Bytes sealed with the current key: `iv (12) | tag (16) | ciphertext`, and the key's id to
   * store beside them (Temporal payloads keep it in their metadata).
   */
  sealBytes(plain: Uint8Array, boundTo = ''): { keyId: string; sealed: Buffer } {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.derived, iv);
    cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
    return { keyId: this.current.id, sealed: Buffer.concat([iv, cipher.getAuthTag(), ct]) };
  }

  openBytes(keyId: string, sealed: Uint8Array, boundTo = ''): Buffer {
    const key = this.byId.get(keyId);
    if (!key) throw new SecretBoxError(`sealed with an unknown key (${keyId}); is PINGBACK_ENCRYPTION_OLD_KEYS missing one?`);
    if (sealed.length < 28) throw new SecretBoxError('sealed value is malformed');
    const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.derived, bytes.subarray(0, 12), { authTagLength: 16 });
      decipher.setAuthTag(bytes.subarray(12, 28));
      decipher.setAAD(Buffer.from(boundTo, 'utf8'));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
    } catch {
      throw new SecretBoxError('sealed value failed authentication (tampered, or the wrong key)');
    }
  }

  /** Whether a stored value is already as `seal` would write it now (current key, current format). */
  isCurrent(sealed: string): boolean {
    return sealed.startsWith(`${V2}${this.current.id}:`);
  }

  /** The id of the key a sealed value names, or undefined for plaintext. */
  static keyIdOf(value: unknown): string | undefined {
    return SecretBox.isSealed(value) ? value.slice(V2.length).split(':')[0] : undefined;
  }

  get currentKeyId(): string {
    return this.current.id;
  }
}
