import { z } from 'zod';
import { ok, output } from '../../api/openapi-helpers';
import { safeEqual } from '../../crypto/safe-equal';
import { AppError } from '../../errors';
import { readRawBody } from '../../http/body';
import type { WebhookCapability } from '../types';
import type { EmailConfig } from './config';
import { readMailFromForm } from './form';
import { checkedEmailEvent, emailEvent } from './inbound';
import { MAX_MAIL_BYTES, parseEmail } from './parse';

const MAIL_TYPES = ['message/rfc822', 'application/octet-stream'];
/** A form carries the mail beside the provider's own parsed copy of it: room for both. */
const MAX_FORM_BYTES = 3 * MAX_MAIL_BYTES;

/** The 200 answer: the mail is with Temporal, or it was recorded in ignored_events (an auto-reply, a bounce, PingBack's own mail …) and why. */
const emailAnswerSchema = z.object({ ok: z.literal(true), ignored: z.string().optional() });

/**
 * Mail for email channels, above all those with `inbound: {"method": "webhook"}`: the mail
 * provider (an inbound route, a forwarding rule, a Cloudflare Email Worker) posts each mail as
 * it arrived, raw MIME, alone or as a field of a form (SendGrid, Mailgun). Providers can put a
 * password in the URL but rarely set other headers, so the channel's verify_token is the HTTP
 * Basic password (`https://pingback:<verify_token>@host/webhooks/email/<id>`), or a Bearer
 * token. Answered 200 only once Temporal holds the message; a provider retries anything else,
 * and the Message-ID makes the retry a no-op.
 */
export const emailWebhook: WebhookCapability<EmailConfig> = {
  wwwAuthenticate: 'Basic realm="pingback email ingress", charset="UTF-8"',
  verify(req, channel) {
    const token = presentedToken(req.header('authorization'));
    if (!token || !safeEqual(token, channel.verifyToken)) {
      throw new AppError(401, 'invalid_credentials', "missing or wrong credentials: use the channel's verify_token as the HTTP Basic password (or a Bearer token)");
    }
  },
  async readBody(ctx) {
    const form = Boolean(ctx.is('multipart/form-data'));
    if (!form && !ctx.is(MAIL_TYPES)) {
      throw new AppError(
        415,
        'unsupported_media_type',
        `post the mail as it arrived, raw MIME, with Content-Type ${MAIL_TYPES[0]}, or as the "email" (SendGrid) or "body-mime" (Mailgun) field of multipart/form-data`,
      );
    }
    return form ? readMailFromForm(ctx, MAX_MAIL_BYTES, MAX_FORM_BYTES) : readRawBody(ctx, MAX_MAIL_BYTES);
  },
  async parse(raw, channel) {
    if (!/^\s*[\x21-\x39\x3b-\x7e]+:/.test(raw.subarray(0, 1000).toString('latin1'))) {
      throw new AppError(400, 'invalid_email', 'body is not a mail: it must start with its header fields (RFC 5322)');
    }
    const parsed = await parseEmail(raw).catch(() => {
      throw new AppError(400, 'invalid_email', 'body is not a mail PingBack can read (RFC 5322 / MIME)');
    });
    // Set aside whole (the channel is off): headers only, once per mail.
    // A switched-off channel sets the mail aside anyway: no DNS queries for it.
    const event = channel.is_active ? await checkedEmailEvent(raw, parsed, channel.config, channel.context, { keepFiles: true }) : emailEvent(parsed, { keepFiles: true });
    return { events: [event], whole: { ids: [`email:${parsed.summary.message_id}`], payload: parsed.summary } };
  },
  answer: ({ ignored }): z.infer<typeof emailAnswerSchema> => (ignored.length ? { ok: true, ignored: ignored[0] } : { ok: true }),
  docs: {
    post: {
      summary:
        "A mail for an email channel (those with inbound {\"method\": \"webhook\"} get their mail only this way), posted by the mail provider as it arrived (raw MIME). The channel's verify_token is the HTTP Basic password (any user name) or a Bearer token. A bounce of a reply PingBack sent marks that reply failed; auto-replies, other bounces and PingBack's own mail are acknowledged and recorded in ignored_events",
      security: { name: 'emailWebhook', scheme: { type: 'http', scheme: 'basic', description: "The email channel's verify_token as the password, any user name (a Bearer token works too)" } },
      requestBody: {
        required: true,
        content: {
          'message/rfc822': { schema: { type: 'string', format: 'binary', maxLength: MAX_MAIL_BYTES } },
          'application/octet-stream': { schema: { type: 'string', format: 'binary', maxLength: MAX_MAIL_BYTES } },
          'multipart/form-data': {
            schema: {
              type: 'object',
              description: 'SendGrid Inbound Parse (raw mode) or Mailgun (a route to a URL ending in "mime"); other fields are ignored',
              properties: { email: { type: 'string', description: 'the raw mail (SendGrid)' }, 'body-mime': { type: 'string', description: 'the raw mail (Mailgun)' } },
            },
          },
        },
      },
      ok: ok('{ok: true} once Temporal holds the message, or {ok: true, ignored: reason}', output(emailAnswerSchema)),
      errors: [400, 401, 404, 413, 415, 503],
    },
  },
};

/** The password of `Authorization: Basic` (any user name), or a Bearer token. */
function presentedToken(header: string): string | undefined {
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (!value) return undefined;
  if (/^bearer$/i.test(scheme)) return value;
  if (!/^basic$/i.test(scheme)) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}
