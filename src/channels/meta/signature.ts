import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header Meta signs every webhook POST with (developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads). */
export const SIGNATURE_HEADER = 'x-hub-signature-256';

const HEADER_PATTERN = /^sha256=([0-9a-f]{64})$/i;

/** `sha256=<lowercase hex HMAC-SHA256 of the body with the app secret>`, as Meta sends it. */
export function signMetaPayload(rawBody: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

/**
 * Checks `X-Hub-Signature-256` against the body exactly as received. Meta signs its
 * own serialisation (non-ASCII escaped as \uXXXX, "/" as "\/"), so the check must
 * run over the raw bytes: re-serialised JSON would not match. Constant time.
 */
export function verifyMetaSignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  const match = HEADER_PATTERN.exec(header?.trim() ?? '');
  if (!match || !appSecret) return false;
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return timingSafeEqual(Buffer.from(match[1], 'hex'), expected);
}

/**
 * Meta's subscription handshake: `GET callback?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…`.
 * The challenge is echoed back only when the mode is `subscribe` and the token is ours.
 */
export function answerVerification(
  query: Record<string, string | string[] | undefined>,
  isOurToken: (token: string) => boolean,
): { ok: true; challenge: string } | { ok: false } {
  const one = (k: string) => (typeof query[k] === 'string' ? (query[k] as string) : undefined);
  const mode = one('hub.mode');
  const token = one('hub.verify_token');
  const challenge = one('hub.challenge');
  if (mode !== 'subscribe' || !token || challenge === undefined || !isOurToken(token)) return { ok: false };
  return { ok: true, challenge };
}
