import { createHmac, randomBytes } from 'node:crypto';
import { safeEqual } from '../../crypto/safe-equal';

/**
 * A widget visitor's identity: `<visitor id>.<expiry>.<signature>`. The visitor id is the
 * conversation's thread key; the expiry is in Unix seconds; the signature is an HMAC of both
 * with the channel's own secret, so the api keeps no session table and a token works for one
 * channel only, until it expires. The widget stores the token (localStorage), sends it as a
 * bearer token, and stores the renewed one the api hands back once half its life has passed
 * (X-Visitor-Token), so a visitor who keeps coming back keeps their conversation, and a token
 * copied off a device stops working after its lifetime.
 */
const VISITOR_ID = /^v_[A-Za-z0-9_-]{22}$/;

export interface VisitorToken {
  visitorId: string;
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export function newVisitorToken(channelId: string, channelSecret: string, opts: { ttlMs: number; now?: number; visitorId?: string }): VisitorToken {
  const visitorId = opts.visitorId ?? `v_${randomBytes(16).toString('base64url')}`;
  const expires = Math.floor(((opts.now ?? Date.now()) + opts.ttlMs) / 1000);
  return { visitorId, token: `${visitorId}.${expires}.${sign(channelId, channelSecret, visitorId, expires)}`, expiresAt: expires * 1000 };
}

/** Whom a token names and until when, or undefined when it is malformed, signed for another channel, or expired. */
export function verifyVisitorToken(channelId: string, channelSecret: string, token: string, now = Date.now()): { visitorId: string; expiresAt: number } | undefined {
  const [visitorId, expiry, signature, ...rest] = token.split('.');
  if (rest.length > 0 || !VISITOR_ID.test(visitorId ?? '') || !/^\d{1,12}$/.test(expiry ?? '') || !signature) return undefined;
  const expires = Number(expiry);
  if (!safeEqual(signature, sign(channelId, channelSecret, visitorId, expires))) return undefined;
  return expires * 1000 > now ? { visitorId, expiresAt: expires * 1000 } : undefined;
}

/** Renewed once less than half its life is left: a visitor active now and then never meets the end of it. */
export const renewalDue = (expiresAt: number, ttlMs: number, now = Date.now()): boolean => expiresAt - now < ttlMs / 2;

function sign(channelId: string, channelSecret: string, visitorId: string, expires: number): string {
  return createHmac('sha256', channelSecret).update(`webchat-visitor:${channelId}:${visitorId}:${expires}`).digest('base64url');
}
