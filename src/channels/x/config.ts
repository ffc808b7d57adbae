import { z } from 'zod';
import { pollIntervalSeconds, text } from '../config-fields';


/** Keys and secrets have no spaces; a space usually means a second value came along. */
const credential = text(256).regex(/^\S+$/, 'must be the value alone, without spaces');

const OAUTH1_FIELDS = ['api_key', 'api_secret', 'access_token', 'access_token_secret'] as const;

/**
 * Credentials, either way X accepts user context for DMs (docs.x.com, "Authentication"):
 * - OAuth 1.0a: the four values from the app's "Keys and tokens" page, the consumer
 *   pair (api_key / api_secret) and the account's access pair; every request is signed.
 * - OAuth 2.0: a user access token with dm.read dm.write tweet.read users.read, sent
 *   as a bearer token. PingBack does not refresh it: when X stops accepting it the
 *   channel goes to `error` asking for a new one.
 * api_secret (the consumer secret) also answers X's CRC check and verifies webhook
 * signatures, so the webhook path needs it whichever way requests are authorised.
 */
export const xConfigSchema = z
  .object({
    api_key: credential.optional(),
    api_secret: credential.optional(),
    access_token: credential.optional(),
    access_token_secret: credential.optional(),
    oauth2_user_token: credential.optional(),
    inbound: z.enum(['polling', 'webhook'], { error: 'must be "polling" or "webhook"' }).default('polling'),
    /**
     * Used only when inbound is "polling". The low minimum is safe for the account:
     * the poller never spends more than X's rate-limit window allows (it sleeps until
     * x-rate-limit-reset), so a short interval only spends the window sooner.
     */
    poll_interval_seconds: pollIntervalSeconds(),
  })
  .strict()
  // Checked even when other fields are wrong too (zod skips refinements after such issues by default),
  // so one answer names every missing credential.
  .check(z.superRefine((cfg, ctx) => {
    const required: readonly (typeof OAUTH1_FIELDS)[number][] = cfg.oauth2_user_token
      ? cfg.inbound === 'webhook'
        ? ['api_secret']
        : []
      : OAUTH1_FIELDS;
    for (const field of required) {
      if (cfg[field] === undefined) {
        const why = cfg.oauth2_user_token ? ' for inbound "webhook": X signs its webhooks with it' : '';
        ctx.addIssue({ code: 'custom', path: [field], message: `is required${why}` });
      }
    }
  }, { when: (payload) => typeof payload.value === 'object' && payload.value !== null }));
export type XConfig = z.infer<typeof xConfigSchema>;

/**
 * api_key (the consumer key) is masked too. It travels in every signed request's
 * Authorization header and cannot sign anything without api_secret, so it is more
 * an app id than a password; but the same holds for access_token, X's portal tells
 * you to keep the pair private, and masking still shows the last 4 characters to
 * recognise it. Showing it whole would gain nothing.
 */
export const X_SECRET_FIELDS: readonly string[] = [...OAUTH1_FIELDS, 'oauth2_user_token'];

/** How requests are authorised, from what the channel holds; the OAuth 2.0 token wins when both are there. */
export type XAuth =
  | { kind: 'oauth2'; token: string }
  | { kind: 'oauth1'; consumerKey: string; consumerSecret: string; token: string; tokenSecret: string };

export function xAuthOf(cfg: XConfig): XAuth {
  if (cfg.oauth2_user_token) return { kind: 'oauth2', token: cfg.oauth2_user_token };
  // The schema guarantees all four when there is no OAuth 2.0 token.
  return { kind: 'oauth1', consumerKey: cfg.api_key!, consumerSecret: cfg.api_secret!, token: cfg.access_token!, tokenSecret: cfg.access_token_secret! };
}
