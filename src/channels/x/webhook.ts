import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ok, output } from '../../api/openapi-helpers';
import { AppError } from '../../errors';
import { parseJson, parsePlatformPayload } from '../../http/body';
import type { InboundEvent, WebhookCapability } from '../types';
import type { XConfig } from './config';
import { accountActivitySchema, otherEventKinds, parseAccountActivity } from './inbound';

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

/** The CRC check's answer: "sha256=" + base64(HMAC-SHA256(api_secret, crc_token)). */
const crcAnswerSchema = z.object({ response_token: z.string() });
/** A delivery's 200 answer (X ignores it): the DMs Temporal took, or why there were none (the account's own messages echoed, an event PingBack could not read, kept in ignored_events, or events it has no use for). */
const xAnswerSchema = z.union([
  z.object({ ok: z.literal(true), messages: z.number().int() }),
  z.object({ ok: z.literal(true), ignored: z.enum(['own_messages', 'unreadable_event', 'event_kind_not_handled']) }),
]);

/**
 * X's Account Activity webhook. X runs a CRC check (GET) when the webhook is registered and
 * then hourly; a failed one stops deliveries. Deliveries (POST) are answered 200 only once
 * Temporal holds every DM they carry, 503 otherwise; a DM that also arrives by polling, or
 * again, is stored once (the X event id keys it).
 */
export const xWebhook: WebhookCapability<XConfig> = {
  handshake(query, channel) {
    const { api_secret, inbound } = channel.config;
    // Proving the consumer secret is only needed for a webhook X should deliver to; a polling
    // channel does not answer, so nothing is exposed for channels that never use it. 400, not
    // 404: the URL is right, the channel's setting is what the person registering must change.
    if (inbound !== 'webhook') {
      throw new AppError(400, 'webhook_not_enabled', 'this channel receives DMs by polling; set its config "inbound" to "webhook" before registering this URL with X');
    }
    const token = typeof query.crc_token === 'string' ? query.crc_token : '';
    if (!token) throw new AppError(400, 'missing_crc_token', 'crc_token query parameter is required');
    // The answer is the same HMAC that signs deliveries: for any token it would sign any
    // body. Only X's token shape is answered, and no JSON object has it (see isCrcToken).
    if (!isCrcToken(token)) throw new AppError(400, 'invalid_crc_token', 'crc_token must be 1 to 256 letters, digits or . _ ~ -');
    if (!api_secret) {
      throw new AppError(400, 'missing_consumer_secret', "the channel has no api_secret (consumer secret) to answer X's CRC check with; add it to the channel's config");
    }
    return { body: { response_token: crcResponseToken(api_secret, token) } satisfies z.infer<typeof crcAnswerSchema> };
  },
  async verify(req, channel) {
    const raw = await req.body();
    const secret = channel.config.api_secret;
    if (!secret || !verifyWebhookSignature(secret, raw, req.header(SIGNATURE_HEADER) || undefined)) {
      throw new AppError(401, 'invalid_signature', `missing or wrong ${SIGNATURE_HEADER} header`);
    }
  },
  parse(raw) {
    const payload = parsePlatformPayload(accountActivitySchema, parseJson(raw), 'invalid_payload', 'an Account Activity event');
    const { events, unreadable } = parseAccountActivity(payload);
    const inbound: InboundEvent[] = [
      // Kept for a person to look at; the delivery's other events go on (X would only redeliver the same bytes).
      ...unreadable.map((u) => ({ kind: 'ignored' as const, reason: 'unreadable_event', eventId: u.key, payload: u.event, problem: u.problem })),
      ...events.map((e): InboundEvent => (e.kind === 'message' ? { kind: 'message', message: e.message } : { kind: 'skipped', reason: e.kind === 'echo' ? 'own_message' : e.type })),
      // Follows, typing, reads: the app is subscribed to them, PingBack has no use for them.
      ...otherEventKinds(payload).map((kind): InboundEvent => ({ kind: 'skipped', reason: kind })),
    ];
    // One app webhook serves every account subscribed to the app: `for_user_id` says whose events these are.
    // Set aside whole, one row per DM event (a payload without DMs: one, keyed by its digest), so a redelivery records nothing new.
    return { events: inbound, owner: payload.for_user_id, whole: { ids: events.map((e) => e.id), payload } };
  },
  // Another account's events are not this channel's; until the channel's own account is known, nothing is routed (503).
  owns: async (owner, channel) => owner === (await channel.platformAccountId()),
  foreignReason: 'other_account',
  answer: ({ messages, ignored, skipped }): z.infer<typeof xAnswerSchema> =>
    messages
      ? { ok: true, messages }
      : { ok: true, ignored: skipped.includes('own_message') ? 'own_messages' : ignored.includes('unreadable_event') ? 'unreadable_event' : 'event_kind_not_handled' },
  docs: {
    get: {
      summary:
        "X's CRC check: {response_token: \"sha256=\" + base64(HMAC-SHA256(api_secret, crc_token))}, for channels with inbound \"webhook\" only; a token that is not X's shape is refused, so the check can never sign a forged body",
      parameters: [{ name: 'crc_token', in: 'query', required: true, schema: { type: 'string', pattern: CRC_TOKEN.source } }],
      ok: ok('{response_token}', output(crcAnswerSchema)),
      errors: [400, 404],
    },
    post: {
      summary: "X's Account Activity webhook. Checks x-twitter-webhooks-signature over the raw body; DMs are signalled, echoes and other events acknowledged",
      parameters: [{ name: SIGNATURE_HEADER, in: 'header', required: true, schema: { type: 'string', pattern: '^sha256=' } }],
      ok: ok('Accepted by Temporal (or ignored and recorded)', output(xAnswerSchema)),
      errors: [400, 401, 404, 503],
    },
  },
};
