import { PlatformError, PlatformErrorKind } from '../platform-error';

/**
 * X answers errors in two shapes: v2's problem details {title, detail, type, status}
 * (sometimes with `errors[]`), and v1.1's {errors: [{code, message}]}, which DM refusals
 * still use (fixtures: shared/fixtures/platforms/x/dm-send-*.json). Status codes per
 * docs.x.com/x-api/fundamentals/response-codes-and-errors; codes per the v1.1 error index.
 */
const BY_STATUS: Record<number, PlatformErrorKind> = {
  400: 'rejected', // invalid request: text too long, bad participant id
  401: 'auth', // missing, wrong or revoked credentials
  403: 'rejected', // refused for this request: the recipient does not accept DMs, or the token lacks dm.write
  404: 'rejected', // the user does not exist (any more)
  429: 'rate_limited', // window spent: x-rate-limit-reset says when it refills (epoch seconds)
};

/** v1.1 codes that say more than their status. */
const BY_CODE: Record<number, { kind: PlatformErrorKind; message?: string }> = {
  32: { kind: 'auth' }, // "Could not authenticate you."
  89: { kind: 'auth' }, // "Invalid or expired token."
  88: { kind: 'rate_limited' }, // "Rate limit exceeded"
  150: { kind: 'rejected' }, // "You cannot send messages to users who are not following you."
  349: { kind: 'rejected' }, // "You cannot send messages to this user." (recipient's DMs are closed to this account)
  476: { kind: 'rejected', message: 'X does not let this account start a DM with this user (message requests are limited for unverified senders).' },
};

/** v2 problem types where the whole app is refused, not this one message: nothing works until the app or token changes. */
const AUTH_PROBLEMS = new Set([
  'https://api.twitter.com/2/problems/client-forbidden', // app not attached to a project, or lacks the access level
  'https://api.twitter.com/2/problems/unsupported-authentication', // e.g. an app-only token on a user-context endpoint
]);
/** Monthly usage cap reached: a rate limit with a longer window. */
const RATE_PROBLEMS = new Set(['https://api.twitter.com/2/problems/usage-capped']);

export interface XErrorBody {
  title?: string;
  detail?: string;
  type?: string;
  status?: number;
  errors?: Array<{ code?: number; message?: string; detail?: string; title?: string }>;
}

/** A bare 403 names no cause; the agent needs the two likely ones to act on it. */
const BARE_403_HINT = 'X refused this DM (403 Forbidden): the recipient may not accept DMs from this account, or the credentials lack DM write permission';

export function classifyXError(status: number, body: XErrorBody | undefined, rateLimitResetSeconds?: number | null, nowMs = Date.now()): PlatformError {
  const first = body?.errors?.[0];
  const code = typeof first?.code === 'number' ? first.code : undefined;
  const byCode = code !== undefined ? BY_CODE[code] : undefined;
  let kind: PlatformErrorKind = byCode?.kind ?? BY_STATUS[status] ?? (status >= 500 ? 'unavailable' : 'rejected');
  if (body?.type && AUTH_PROBLEMS.has(body.type)) kind = 'auth';
  if (body?.type && RATE_PROBLEMS.has(body.type)) kind = 'rate_limited';

  const words = byCode?.message ?? first?.message ?? body?.detail ?? first?.detail ?? body?.title ?? `HTTP ${status}`;
  const message = status === 403 && kind === 'rejected' && code === undefined && /^forbidden\.?$/i.test(words.trim()) ? BARE_403_HINT : words;

  const retryAfterMs =
    kind === 'rate_limited' && typeof rateLimitResetSeconds === 'number' && Number.isFinite(rateLimitResetSeconds)
      ? Math.max(1000, rateLimitResetSeconds * 1000 - nowMs)
      : undefined;
  return new PlatformError(kind, message, { status, platformCode: code ?? body?.type, retryAfterMs });
}
