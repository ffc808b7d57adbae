import { originAllowed } from '../../../../src/channels/webchat/origin';
import { newVisitorToken, renewalDue, verifyVisitorToken } from '../../../../src/channels/webchat/visitor-token';
import { addressKey } from '../../../../src/http/rate-limit';

const CHANNEL = '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
const OTHER = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

const TTL = 30 * 86_400_000;

describe('visitor tokens', () => {
  test('a token names its visitor on its own channel only', () => {
    const { visitorId, token } = newVisitorToken(CHANNEL, 'secret-a', { ttlMs: TTL });
    expect(visitorId).toMatch(/^v_[A-Za-z0-9_-]{22}$/);
    expect(verifyVisitorToken(CHANNEL, 'secret-a', token)?.visitorId).toBe(visitorId);
    expect(verifyVisitorToken(OTHER, 'secret-a', token)).toBeUndefined();
    // A new channel secret (a channel recreated) ends every old visitor's token.
    expect(verifyVisitorToken(CHANNEL, 'secret-b', token)).toBeUndefined();
  });

  test('a visitor id or an expiry cannot be swapped under a signature, and malformed tokens are refused', () => {
    const a = newVisitorToken(CHANNEL, 's', { ttlMs: TTL });
    const b = newVisitorToken(CHANNEL, 's', { ttlMs: TTL });
    const [, expiry, signature] = a.token.split('.');
    expect(verifyVisitorToken(CHANNEL, 's', `${b.visitorId}.${expiry}.${signature}`)).toBeUndefined();
    expect(verifyVisitorToken(CHANNEL, 's', `${a.visitorId}.${Number(expiry) + 86_400 * 365}.${signature}`)).toBeUndefined();
    for (const bad of ['', 'v_x', `${a.visitorId}.`, `${a.visitorId}`, 'x.y', `${a.token}x`, `../${a.token}`, `${a.token}.more`, `${a.visitorId}.${signature}`]) {
      expect(verifyVisitorToken(CHANNEL, 's', bad)).toBeUndefined();
    }
  });

  test('a token ends at its expiry; renewal is due once half its life has passed, for the same visitor', () => {
    const issued = Date.UTC(2026, 0, 1);
    const t = newVisitorToken(CHANNEL, 's', { ttlMs: TTL, now: issued });
    expect(verifyVisitorToken(CHANNEL, 's', t.token, issued + TTL - 1000)?.visitorId).toBe(t.visitorId);
    expect(verifyVisitorToken(CHANNEL, 's', t.token, issued + TTL + 1000)).toBeUndefined();
    expect(renewalDue(t.expiresAt, TTL, issued + TTL / 4)).toBe(false);
    expect(renewalDue(t.expiresAt, TTL, issued + (3 * TTL) / 4)).toBe(true);
    const renewed = newVisitorToken(CHANNEL, 's', { ttlMs: TTL, now: issued + (3 * TTL) / 4, visitorId: t.visitorId });
    expect(verifyVisitorToken(CHANNEL, 's', renewed.token, issued + TTL + 1000)?.visitorId).toBe(t.visitorId);
  });
});

describe('allowed domains', () => {
  test.each([
    ['https://shop.example.com', ['shop.example.com'], true],
    ['https://SHOP.example.com:8443', ['shop.example.com'], true],
    ['https://evil.com', ['shop.example.com'], false],
    ['https://shop.example.com.evil.com', ['shop.example.com'], false],
    ['https://a.example.com', ['*.example.com'], true],
    ['https://a.b.example.com', ['*.example.com'], true],
    // The wildcard means subdomains; the bare domain is listed on its own when wanted.
    ['https://example.com', ['*.example.com'], false],
    ['https://badexample.com', ['*.example.com'], false],
    ['http://localhost:5173', ['localhost'], true],
    ['null', ['example.com'], false],
    ['not a url', ['example.com'], false],
    ['https://anything.test', [], true],
  ])('%s with %j: %s', (origin, domains, allowed) => {
    expect(originAllowed(origin, domains)).toBe(allowed);
  });
});

test('an address is limited as its owner: IPv4 as it is, IPv6 by its /64, IPv4 mapped into IPv6 as IPv4', () => {
  expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
  expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
  expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
  expect(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe(addressKey('2001:db8:1:2::9'));
  expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
});
