import Router from '@koa/router';
import { isUuid } from '../db/ids';
import { AppError, notFound } from '../errors';
import { readJsonBody } from '../http/body';
import { telegramUpdateSchema, toInboundMessages } from '../channels/telegram/update';
import { safeEqual } from '../api/auth';
import type { AppDeps } from '../api/context';

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
    const channel = isUuid(channelId) ? await deps.channelLookup.get(channelId, 'telegram') : undefined;
    if (!channel) throw notFound('channel');
    const secret = ctx.get(SECRET_HEADER);
    if (!secret || !safeEqual(secret, channel.webhook_secret)) {
      throw new AppError(401, 'invalid_signature', `missing or wrong ${SECRET_HEADER} header`);
    }
    const { json } = await readJsonBody(ctx);
    const parsed = telegramUpdateSchema.safeParse(json);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw new AppError(400, 'invalid_update', 'body is not a Telegram Update', { fields });
    }
    if (!channel.is_active) {
      // Acknowledged so Telegram stops retrying; never routed into a conversation.
      await deps.db('ignored_events').insert({
        channel_id: channel.id,
        reason: 'channel_inactive',
        platform_event_id: String(parsed.data.update_id),
        payload: JSON.stringify(parsed.data),
      }).onConflict(['channel_id', 'reason', 'platform_event_id']).ignore();
      deps.log.info('webhook ignored: channel inactive', { channel_id: channel.id, update_id: parsed.data.update_id });
      ctx.body = { ok: true, ignored: 'channel_inactive' };
      return;
    }
    const messages = toInboundMessages(parsed.data);
    for (const message of messages) {
      await deps.signaller.inbound(
        { accountId: channel.account_id, channelId: channel.id, channelType: 'telegram', threadKey: message.threadKey },
        message,
      );
    }
    ctx.body = messages.length ? { ok: true } : { ok: true, ignored: 'update_type_not_handled' };
  });

  return router;
}
