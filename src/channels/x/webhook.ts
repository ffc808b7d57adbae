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

/** The `response_token` that proves to X this endpoint holds the app's consumer secret. */
export function crcResponseToken(consumerSecret: string, crcToken: string): string {
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
