import { webhookPath, type ChannelAdapter } from '../types';
import { PlatformError } from '../platform-error';
import { partsOf } from '../send-parts';
import { callBotApi, downloadBotFile, uploadToBotApi } from './bot-api';
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

  filesOut: { maxFiles: 10, maxFileBytes: 50 * 1024 ** 2, source: 'core.telegram.org/bots/api#sending-files: photos up to 10 MB, other files up to 50 MB by upload' },

  async send(cfg, to, msg, ctx) {
    const quote =
      msg.replyToPlatformMessageId && /^\d+$/.test(msg.replyToPlatformMessageId)
        ? { reply_parameters: { message_id: Number(msg.replyToPlatformMessageId), allow_sending_without_reply: true } }
        : {};
    const files = msg.files ?? [];
    if (files.length === 0) {
      const sent = await callBotApi<{ message_id: number }>(ctx.telegramApiBaseUrl, cfg.bot_token, 'sendMessage', { chat_id: to.threadKey, text: msg.content, ...quote });
      return { platformMessageId: String(sent.message_id) };
    }
    // Several messages: each part recorded as it goes (msg.parts), so a retry sends only what is missing.
    const parts = partsOf(msg.parts);
    const part = (name: string, send: () => Promise<{ message_id: number }>) => parts.send(name, async () => String((await send()).message_id));
    // The text rides on the first file as its caption when it fits; otherwise it goes first, on its own.
    const caption = msg.content.length <= MAX_CAPTION ? msg.content : '';
    if (msg.content && !caption) {
      await part('text', () => callBotApi(ctx.telegramApiBaseUrl, cfg.bot_token, 'sendMessage', { chat_id: to.threadKey, text: msg.content, ...quote }));
    }
    for (const [i, f] of files.entries()) {
      const params = { chat_id: to.threadKey, ...(i === 0 && caption ? { caption } : {}), ...(parts.ids.length === 0 ? quote : {}) };
      await part(`file:${i}`, async () => {
        const bytes = await f.load();
        const kind = uploadKind(f.contentType, bytes.length);
        const upload = (k: { method: string; field: string }) => uploadToBotApi<{ message_id: number }>(ctx.telegramApiBaseUrl, cfg.bot_token, k.method, params, { field: k.field, name: f.fileName, type: f.contentType, bytes });
        try {
          return await upload(kind);
        } catch (err) {
          // A photo Telegram will not show as one (too long a side, odd proportions): sent as the file it is.
          if (kind.method === 'sendPhoto' && err instanceof PlatformError && err.kind === 'rejected' && /PHOTO/.test(err.message)) return upload({ method: 'sendDocument', field: 'document' });
          throw err;
        }
      });
    }
    return { platformMessageId: parts.ids[0] };
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

  async fetchMedia(cfg, attachment, ctx) {
    if (typeof attachment.platformFileId !== 'string') throw new PlatformError('rejected', 'this attachment has no Telegram file id');
    const file = await downloadBotFile(ctx.telegramApiBaseUrl, cfg.bot_token, attachment.platformFileId);
    // Telegram's file server says octet-stream; the message said what it is (photos are JPEG).
    const type = attachment.mimeType ?? (attachment.type === 'image' ? 'image/jpeg' : attachment.type === 'sticker' ? 'image/webp' : undefined);
    return { body: file.body, contentType: type ?? file.contentType ?? 'application/octet-stream', contentLength: file.contentLength };
  },

  // core.telegram.org/bots/api#getwebhookinfo: where updates go, how many wait, the last delivery error.
  async health(cfg, ctx, channel) {
    const me = await callBotApi<{ id: number; username?: string }>(ctx.telegramApiBaseUrl, cfg.bot_token, 'getMe', {});
    const info = await callBotApi<{ url: string; pending_update_count: number; last_error_date?: number; last_error_message?: string }>(
      ctx.telegramApiBaseUrl,
      cfg.bot_token,
      'getWebhookInfo',
      {},
    );
    const problems: string[] = [];
    if (info.url !== channel.callbackUrl) problems.push(info.url ? `the bot's webhook points at ${info.url}, not at this channel` : 'the bot has no webhook: save the channel again to register it');
    // An error Telegram still remembers from the last hour: deliveries are failing now, or were recently.
    if (info.last_error_date && Date.now() / 1000 - info.last_error_date < 3600) problems.push(`Telegram's last delivery failed: ${info.last_error_message ?? 'no reason given'}`);
    if (info.pending_update_count > 100) problems.push(`${info.pending_update_count} updates are waiting at Telegram`);
    return {
      account: me.username ? `@${me.username}` : String(me.id),
      details: {
        webhook_url: info.url,
        pending_update_count: info.pending_update_count,
        last_error_date: info.last_error_date ? new Date(info.last_error_date * 1000).toISOString() : null,
        last_error_message: info.last_error_message ?? null,
      },
      problems,
    };
  },

  async unregisterWebhook(cfg, ctx) {
    await callBotApi<boolean>(ctx.telegramApiBaseUrl, cfg.bot_token, 'deleteWebhook', {});
  },
};

/** A caption's limit (core.telegram.org/bots/api#sendphoto: 0-1024 characters). */
const MAX_CAPTION = 1024;
const MAX_PHOTO_BYTES = 10_000_000;

/** Which Bot API method shows a file best: a photo (up to 10 MB, as Telegram recompresses it), a video, audio, else a document. */
function uploadKind(contentType: string, bytes: number): { method: string; field: string } {
  if (/^image\/(jpeg|png|webp)$/.test(contentType) && bytes <= MAX_PHOTO_BYTES) return { method: 'sendPhoto', field: 'photo' };
  if (contentType === 'video/mp4') return { method: 'sendVideo', field: 'video' };
  if (contentType === 'audio/mpeg' || contentType === 'audio/mp4') return { method: 'sendAudio', field: 'audio' };
  return { method: 'sendDocument', field: 'document' };
}
