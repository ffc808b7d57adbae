import { createHmac, randomBytes } from 'node:crypto';
import { safeEqual } from '../../crypto/safe-equal';

/**
 * A widget visitor's identity: `<visitor id>.<signature>`. The visitor id is the
 * conversation's thread key; the signature is an HMAC with the channel's own secret,
 * so the api keeps no session table and a token works for one channel only.
 * The widget stores the token (localStorage) and sends it as a bearer token.
 */
const VISITOR_ID = /^v_[A-Za-z0-9_-]{22}$/;

export function newVisitorToken(channelId: string, channelSecret: string): { visitorId: string; token: string } {
  const visitorId = `v_${randomBytes(16).toString('base64url')}`;
  return { visitorId, token: `${visitorId}.${sign(channelId, channelSecret, visitorId)}` };
}

/** The visitor id a token names, or undefined when it is malformed or signed for another channel. */
export function verifyVisitorToken(channelId: string, channelSecret: string, token: string): string | undefined {
  const dot = token.indexOf('.');
  if (dot < 0) return undefined;
  const visitorId = token.slice(0, dot);
  if (!VISITOR_ID.test(visitorId)) return undefined;
  return safeEqual(token.slice(dot + 1), sign(channelId, channelSecret, visitorId)) ? visitorId : undefined;
}

function sign(channelId: string, channelSecret: string, visitorId: string): string {
  return createHmac('sha256', channelSecret).update(`webchat-visitor:${channelId}:${visitorId}`).digest('base64url');
}
