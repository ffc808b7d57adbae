import { createCipheriv, createHash, randomBytes } from 'node:crypto';

/** A credential as PingBack sealed it before keys were per purpose (`enc:v1:`): the master key itself, no binding. */
export function sealV1(master: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', master, iv);
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  const id = createHash('sha256').update(master).digest('base64url').slice(0, 8);
  return `enc:v1:${id}:${[iv, c.getAuthTag(), ct].map((b) => b.toString('base64url')).join(':')}`;
}
