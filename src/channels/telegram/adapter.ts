import { webhookPath, type ChannelAdapter } from '../types';
import { callBotApi } from './bot-api';
import { telegramConfigSchema, TelegramConfig } from './config';
import { HANDLED_UPDATE_TYPES } from './update';
import { telegramWebhook } from './webhook';

export const telegramAdapter: ChannelAdapter<TelegramConfig> = {
  type: 'telegram',
  config: telegramConfigSchema,
  secretFields: ['bot_token'],
  setup: 'api',
  instructions: 'PingBack registers its webhook with Telegram itself: paste the token @BotFather gave your bot, and the channel connects.',
  callbackPath: webhookPath('telegram'),
  webhook: telegramWebhook,

  async send(cfg, to, msg, ctx) {
    const result = await callBotApi<{ message_id: number }>(ctx.telegramApiBaseUrl, cfg.bot_token, 'sendMessage', {
      chat_id: to.threadKey,
      text: msg.content,
      ...(msg.replyToPlatformMessageId && /^\d+$/.test(msg.replyToPlatformMessageId)
        ? { reply_parameters: { message_id: Number(msg.replyToPlatformMessageId), allow_sending_without_reply: true } }
        : {}),
    });
    return { platformMessageId: String(result.message_id) };
  },

  async registerWebhook(cfg, hook, ctx) {
    const me = await callBotApi<{ id: number; username?: string }>(ctx.telegramApiBaseUrl, cfg.bot_token, 'getMe', {});
    await callBotApi<boolean>(ctx.telegramApiBaseUrl, cfg.bot_token, 'setWebhook', {
      url: hook.url,
      secret_token: hook.secret,
      // Always sent: omitting it keeps whatever an earlier registration asked for.
      allowed_updates: HANDLED_UPDATE_TYPES,
    });
    return { account: me.username ? `@${me.username}` : String(me.id) };
  },

  async unregisterWebhook(cfg, ctx) {
    await callBotApi<boolean>(ctx.telegramApiBaseUrl, cfg.bot_token, 'deleteWebhook', {});
  },
};
