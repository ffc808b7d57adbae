import { recordIgnoredEvents } from '../db/ignored-events';
import Router from '@koa/router';
import { AppError } from '../errors';
import { parsePlatformPayload, readJsonBody } from '../http/body';
import { telegramUpdateSchema, toInboundMessages } from '../channels/telegram/update';
import { safeEqual } from '../crypto/safe-equal';
import type { AppDeps } from '../api/context';
import { conversationRef } from '../channels/types';

const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/**
 * Telegram posts one Update per request and retries on any non-2xx, so: 200 only
 * once Temporal has accepted the signal, 503 when it has not (Telegram redelivers,
 * and the message's key makes the redelivery a no-op).
 */
export function telegramIngress(deps: AppDeps): Router {
  const router = new Router();

  router.post('/webhooks/telegram/:channelId', async (ctx) => {
    const channelId = ctx.params.channelId;
    const channel = await deps.channelLookup.require(channelId, 'telegram');
    const secret = ctx.get(SECRET_HEADER);
    if (!secret || !safeEqual(secret, channel.webhook_secret)) {
      throw new AppError(401, 'invalid_signature', `missing or wrong ${SECRET_HEADER} header`);
    }
    const { json } = await readJsonBody(ctx);
    const update = parsePlatformPayload(telegramUpdateSchema, json, 'invalid_update', 'a Telegram Update');
    if (!channel.is_active) {
      // Acknowledged so Telegram stops retrying; never routed into a conversation.
      await recordIgnoredEvents(deps.db, [
        { channel_id: channel.id, reason: 'channel_inactive', platform_event_id: String(update.update_id), payload: update },
      ]);
      deps.log.info('webhook ignored: channel inactive', { channel_id: channel.id, update_id: update.update_id });
      ctx.body = { ok: true, ignored: 'channel_inactive' };
      return;
    }
    const messages = toInboundMessages(update);
    for (const message of messages) {
      await deps.signaller.inbound(
        conversationRef(channel, message.threadKey),
        message,
      );
    }
    ctx.body = messages.length ? { ok: true } : { ok: true, ignored: 'update_type_not_handled' };
  });

  return router;
}
