import { z } from 'zod';

/** Trimmed, non-empty, at most `max` characters. */
const text = (max: number) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

/** Keys and secrets have no spaces; a space usually means a second value came along. */
const credential = text(256).regex(/^\S+$/, 'must be the value alone, without spaces');

/**
 * The four OAuth 1.0a values from the app's "Keys and tokens" page: the consumer
 * pair (api_key / api_secret) and the account's access pair. All four sign DM
 * requests; api_secret also answers X's CRC check and verifies webhook signatures.
 */
export const xConfigSchema = z
  .object({
    api_key: credential,
    api_secret: credential,
    access_token: credential,
    access_token_secret: credential,
    inbound: z.enum(['polling', 'webhook'], { error: 'must be "polling" or "webhook"' }).default('polling'),
    /** Used only when inbound is "polling". */
    poll_interval_seconds: z
      .number({ error: 'must be a number of seconds' })
      .int('must be a whole number of seconds')
      .min(15, 'must be at least 15 seconds')
      .max(3600, 'must be at most 3600 seconds (one hour)')
      .default(60),
  })
  .strict();
export type XConfig = z.infer<typeof xConfigSchema>;

/**
 * api_key (the consumer key) is masked too. It travels in every signed request's
 * Authorization header and cannot sign anything without api_secret, so it is more
 * an app id than a password; but the same holds for access_token, X's portal tells
 * you to keep the pair private, and masking still shows the last 4 characters to
 * recognise it. Showing it whole would gain nothing.
 */
export const X_SECRET_FIELDS: readonly string[] = ['api_key', 'api_secret', 'access_token', 'access_token_secret'];
