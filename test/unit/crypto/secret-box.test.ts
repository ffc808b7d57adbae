import { randomBytes } from 'node:crypto';
import { openChannelSecret, openConfig, sealChannelSecret, sealConfig } from '../../../src/channels/credentials';
import { sealV1 } from '../../helpers/legacy-seal';
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

test('a value opens only where it was sealed: the same binding, the same purpose', () => {
  const box = new SecretBox(key);
  const sealed = box.seal('bot-token', 'channel/a/config/bot_token');
  expect(box.open(sealed, 'channel/a/config/bot_token')).toBe('bot-token');
  expect(() => box.open(sealed, 'channel/b/config/bot_token')).toThrow(/moved from where it was sealed/);
  expect(() => box.open(sealed)).toThrow(SecretBoxError);
  // A widget cursor is handed to strangers: it is sealed with another key, and credentials never open with it.
  const cursors = box.for('widget-cursor');
  expect(() => cursors.open(sealed, 'channel/a/config/bot_token')).toThrow(SecretBoxError);
  expect(() => box.open(cursors.seal('v_1:5', 'ch'), 'ch')).toThrow(SecretBoxError);
  expect(cursors.open(cursors.seal('v_1:5', 'ch'), 'ch')).toBe('v_1:5');
});


test('values sealed before per-purpose keys still open as credentials, and are not current', () => {
  const legacy = sealV1(key, 'old-password');
  const box = new SecretBox(key);
  expect(SecretBox.isSealed(legacy)).toBe(true);
  expect(box.open(legacy, 'channel/a/config/smtp.password')).toBe('old-password');
  expect(box.isCurrent(legacy)).toBe(false);
  expect(box.isCurrent(box.seal('x', 'b'))).toBe(true);
  expect(new SecretBox(randomBytes(32), [key]).isCurrent(box.seal('x', 'b'))).toBe(false);
  expect(() => box.for('widget-cursor').open(legacy)).toThrow(/does not open for widget-cursor/);
  expect(() => box.open('enc:v2:abc')).toThrow(SecretBoxError);
});

test('a truncated authentication tag is refused, not checked on fewer bytes', () => {
  const box = new SecretBox(key).for('widget-cursor');
  const parts = box.seal('v_1:5', 'ch').split(':');
  parts[3] = Buffer.from(parts[3], 'base64url').subarray(0, 4).toString('base64url');
  expect(() => box.open(parts.join(':'), 'ch')).toThrow(/malformed/);
});

test("a channel's sealed values open only in that channel and field", () => {
  const box = new SecretBox(key);
  const config = sealConfig(box, 'telegram', { bot_token: '123:abc' }, 'channel-a');
  expect(openConfig(box, 'telegram', config, 'channel-a')).toEqual({ bot_token: '123:abc' });
  expect(() => openConfig(box, 'telegram', config, 'channel-b')).toThrow(SecretBoxError);
  const secret = sealChannelSecret(box, 'channel-a', 'webhook_secret', 's3cret');
  expect(openChannelSecret(box, { id: 'channel-a', webhook_secret: secret, verify_token: 'v' }, 'webhook_secret')).toBe('s3cret');
  // Moved to the other field, or to another channel's row: refused.
  expect(() => openChannelSecret(box, { id: 'channel-a', webhook_secret: 'w', verify_token: secret }, 'verify_token')).toThrow(SecretBoxError);
  expect(() => openChannelSecret(box, { id: 'channel-b', webhook_secret: secret, verify_token: 'v' }, 'webhook_secret')).toThrow(SecretBoxError);
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
