import { z } from 'zod';
import { ok, output } from '../../api/openapi-helpers';
import { safeEqual } from '../../crypto/safe-equal';
import { AppError } from '../../errors';
import { parseJson, parsePlatformPayload } from '../../http/body';
import type { WebhookCapability } from '../types';
import type { TelegramConfig } from './config';
import { telegramUpdateSchema, toInboundMessages } from './update';

/** The header Telegram sends the `secret_token` PingBack gave setWebhook in (core.telegram.org/bots/api#setwebhook). */
export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/** The 200 answer (Telegram ignores it): an update with no message PingBack handles is acknowledged all the same. */
const telegramAnswerSchema = z.union([z.object({ ok: z.literal(true) }), z.object({ ok: z.literal(true), ignored: z.literal('update_type_not_handled') })]);

/**
 * Telegram posts one Update per request and retries on any non-2xx, so: 200 only once
 * Temporal has accepted the signal, 503 when it has not (Telegram redelivers, and the
 * message's key makes the redelivery a no-op). PingBack registers the webhook itself.
 */
export const telegramWebhook: WebhookCapability<TelegramConfig> = {
  verify(req, channel) {
    const secret = req.header(SECRET_HEADER);
    if (!secret || !safeEqual(secret, channel.webhookSecret)) {
      throw new AppError(401, 'invalid_signature', `missing or wrong ${SECRET_HEADER} header`);
    }
  },
  parse(raw) {
    const update = parsePlatformPayload(telegramUpdateSchema, parseJson(raw), 'invalid_update', 'a Telegram Update');
    const events = toInboundMessages(update).map((message) => ({ kind: 'message' as const, message }));
    return { events, whole: { ids: [String(update.update_id)], payload: update } };
  },
  answer: ({ messages }): z.infer<typeof telegramAnswerSchema> => (messages ? { ok: true } : { ok: true, ignored: 'update_type_not_handled' }),
  docs: {
    post: {
      summary: 'Telegram Bot API webhook (registered by PingBack). Checks X-Telegram-Bot-Api-Secret-Token.',
      ok: ok('Accepted by Temporal', output(telegramAnswerSchema)),
      errors: [400, 401, 404, 503],
    },
  },
};
