import { z } from 'zod';
import { ok, output } from '../../api/openapi-helpers';
import { safeEqual } from '../../crypto/safe-equal';
import { AppError } from '../../errors';
import { parseJson, parsePlatformPayload } from '../../http/body';
import type { WebhookCapability } from '../types';
import type { MetaWebhookEvent } from './events';
import { answerVerification, SIGNATURE_HEADER, verifyMetaSignature } from './signature';

/** The 200 answer (Meta ignores it): how many of the delivery's messages and statuses Temporal took, and how many events were recorded in ignored_events. */
const metaAnswerSchema = z.object({ ok: z.literal(true), messages: z.number().int(), statuses: z.number().int(), ignored: z.number().int() });

/**
 * A Meta product's webhook (WhatsApp, Instagram): the same handshake, signature and answer;
 * the envelope, its events and who owns them are the product's. Meta retries a non-200 for
 * days, so it is answered 200 only once every message and status has been accepted.
 */
export function metaWebhook<Config extends { app_secret?: string }, Envelope>(product: {
  /** The product's name in the docs: `whatsapp`, `instagram`. */
  name: string;
  envelope: z.ZodType<Envelope>;
  /** What the envelope is called in a 400: "a WhatsApp webhook". */
  what: string;
  /** Every item of the envelope; one that cannot be read comes back as an `unparseable` ignored event (see parseItem). */
  events(envelope: Envelope): MetaWebhookEvent[];
  /** Whether an entry's owner (the business number, the Instagram account) is this channel's. */
  owns(cfg: Config, owner: string): boolean;
}): WebhookCapability<Config> {
  return {
    // The handshake Meta runs when the callback URL is saved in the App Dashboard.
    handshake(query, channel) {
      const answer = answerVerification(query, (token) => safeEqual(token, channel.verifyToken));
      if (!answer.ok) throw new AppError(403, 'verification_failed', "hub.mode must be subscribe and hub.verify_token the channel's verify_token");
      return { body: answer.challenge, connected: 'callback URL verified by Meta' };
    },
    async verify(req, channel) {
      if (!verifyMetaSignature(await req.body(), req.header(SIGNATURE_HEADER) || undefined, channel.config.app_secret ?? '')) {
        throw new AppError(401, 'invalid_signature', `missing or wrong ${SIGNATURE_HEADER} header`);
      }
    },
    parse(raw) {
      const json = parseJson(raw);
      // 400 only for a body whose envelope is not the platform's.
      const events = product.events(parsePlatformPayload(product.envelope, json, 'invalid_payload', product.what)).map(withProblem);
      return { events, whole: { ids: [], payload: json } };
    },
    owns: (owner, channel) => product.owns(channel.config, owner),
    foreignReason: 'not_for_this_channel',
    answer: ({ messages, statuses, ignored }): z.infer<typeof metaAnswerSchema> => ({ ok: true, messages, statuses, ignored: ignored.length }),
    docs: {
      get: {
        summary: `Meta's verification handshake for a ${product.name} channel: hub.challenge as text/plain when hub.mode=subscribe and hub.verify_token is the channel's`,
        parameters: ['hub.mode', 'hub.challenge', 'hub.verify_token'].map((name) => ({ name, in: 'query', required: true, schema: { type: 'string' } })),
        ok: { description: 'The challenge', content: { 'text/plain': { schema: { type: 'string' } } } },
        errors: [403, 404],
      },
      post: {
        summary: `Meta's ${product.name} webhook. Checks X-Hub-Signature-256 over the raw body; 200 once Temporal accepted every message and status`,
        parameters: [{ name: 'X-Hub-Signature-256', in: 'header', required: true, schema: { type: 'string', pattern: '^sha256=[0-9a-f]{64}$' } }],
        ok: ok('Accepted (or ignored and recorded)', output(metaAnswerSchema)),
        errors: [400, 401, 404, 503],
      },
    },
  };
}

/** An item parseItem could not read, with what was wrong with it for the warning (its payload keeps the issues). */
function withProblem(ev: MetaWebhookEvent): MetaWebhookEvent {
  if (ev.kind !== 'ignored' || ev.reason !== 'unparseable') return ev;
  const issues = (ev.payload as { issues?: Array<{ path: string; message: string }> }).issues ?? [];
  return { ...ev, problem: issues.map((i) => `${i.path} ${i.message}`).join('; ') || 'unreadable' };
}
