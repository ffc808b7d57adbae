import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Account Activity webhook security (docs.x.com "Securing webhooks"): the consumer
 * secret keys an HMAC-SHA256, base64-encoded (not hex, unlike Meta), both for the CRC
 * challenge X sends on registration and then hourly, and for the
 * x-twitter-webhooks-signature header on every delivery.
 */
export const SIGNATURE_HEADER = 'x-twitter-webhooks-signature';

function hmacBase64(consumerSecret: string, data: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', consumerSecret).update(data).digest('base64');
}

/**
 * What a CRC token X sends looks like: the docs' example is a UUID, and X has been seen
 * sending base64 of one (M2RkODJkZmMt…); so URL-safe and base64 characters, at most 256.
 * The CRC answer is the HMAC that also signs deliveries, so answering any token would sign
 * any body for whoever asks: only this shape is answered. It has no `{`, `[` or `"`, so no
 * JSON object (the only body a delivery can be) passes as a token; a bare number or `true`
 * can, and is refused as a delivery by the payload schema.
 */
const CRC_TOKEN = /^[A-Za-z0-9._~+/=-]{1,256}$/;

export function isCrcToken(token: string): boolean {
  return CRC_TOKEN.test(token);
}

/** The `response_token` that proves to X this endpoint holds the app's consumer secret. */
export function crcResponseToken(consumerSecret: string, crcToken: string): string {
  // Checked here too, so no future caller can turn this into a signing service.
  if (!isCrcToken(crcToken)) throw new Error('not a CRC token: refusing to sign it');
  return hmacBase64(consumerSecret, crcToken);
}

/** What X puts in x-twitter-webhooks-signature for this exact body. */
export function webhookSignature(consumerSecret: string, rawBody: string | Buffer): string {
  return hmacBase64(consumerSecret, rawBody);
}

/** Constant-time check of the header over the raw bytes as received (re-serialised JSON would not match). */
export function verifyWebhookSignature(consumerSecret: string, rawBody: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(webhookSignature(consumerSecret, rawBody));
  const given = Buffer.from(header.trim());
  // Lengths are public (always 51 for a well-formed header); only the content must not leak.
  return given.length === expected.length && timingSafeEqual(given, expected);
}
