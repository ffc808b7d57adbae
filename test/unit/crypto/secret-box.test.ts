import { randomBytes } from 'node:crypto';
import { parseKey, SecretBox, SecretBoxError } from '../../../src/crypto/secret-box';
import { mapSecretPaths } from '../../../src/channels/secret-paths';

const key = randomBytes(32);

test('seal then open gives the plaintext back; the sealed form reveals nothing of it', () => {
  const box = new SecretBox(key);
  const sealed = box.seal('EAAG-very-secret');
  expect(SecretBox.isSealed(sealed)).toBe(true);
  expect(sealed).not.toContain('very-secret');
  expect(box.open(sealed)).toBe('EAAG-very-secret');
  expect(box.seal('same')).not.toBe(box.seal('same')); // fresh IV every time
});

test('a tampered value or a foreign key fails loudly', () => {
  const box = new SecretBox(key);
  const sealed = box.seal('secret');
  const parts = sealed.split(':');
  parts[parts.length - 1] = Buffer.from('tampered!').toString('base64url');
  expect(() => box.open(parts.join(':'))).toThrow(SecretBoxError);
  expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow(/unknown key/);
});

test('old keys keep opening old values while new values use the current key', () => {
  const oldBox = new SecretBox(key);
  const sealedOld = oldBox.seal('legacy');
  const rotated = new SecretBox(randomBytes(32), [key]);
  expect(rotated.open(sealedOld)).toBe('legacy');
  expect(() => oldBox.open(rotated.seal('new'))).toThrow(SecretBoxError);
});

test('keys are 32 bytes as hex or base64', () => {
  expect(parseKey(key.toString('hex'))).toEqual(key);
  expect(parseKey(key.toString('base64'))).toEqual(key);
  expect(() => parseKey('abc')).toThrow(SecretBoxError);
});

test('dotted secret paths are mapped without touching the input', () => {
  const cfg = { address: 'a@b.c', smtp: { host: 'h', password: 'p1' }, inbound: { method: 'webhook' } };
  const out = mapSecretPaths(cfg, ['smtp.password', 'inbound.password'], (v) => `<${v}>`);
  expect(out).toEqual({ address: 'a@b.c', smtp: { host: 'h', password: '<p1>' }, inbound: { method: 'webhook' } });
  expect(cfg.smtp.password).toBe('p1');
});
