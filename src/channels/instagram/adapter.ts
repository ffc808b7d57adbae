import type { z } from 'zod';
import { PlatformError } from '../platform-error';
import type { ChannelAdapter } from '../types';
import { callGraph, downloadMedia } from '../meta/graph-api';
import { metaWebhook } from '../meta/webhook';
import { webhookPath } from '../types';
import { partsOf } from '../send-parts';
import { instagramConfigSchema, InstagramConfig, INSTAGRAM_SECRET_FIELDS } from './config';
import { instagramEnvelope, instagramEvents } from './webhook';

/**
 * Instagram messaging through the Graph API Send API. The webhook is set in the Meta App
 * Dashboard (`console`). Replies go to the customer's IGSID; the Send API has no quote
 * context PingBack relies on, so replies to a specific message are sent as plain text.
 */
export const instagramAdapter: ChannelAdapter<InstagramConfig> = {
  type: 'instagram',
  config: instagramConfigSchema,
  secretFields: INSTAGRAM_SECRET_FIELDS,
  setup: 'console',
  instructions: "In Meta's App Dashboard, Instagram → Webhooks: paste the callback URL and the verify token, then subscribe to messages.",
  callbackPath: webhookPath('instagram'),
  webhook: metaWebhook<InstagramConfig, z.infer<typeof instagramEnvelope>>({
    envelope: instagramEnvelope,
    name: 'instagram',
    what: 'an Instagram webhook',
    events: instagramEvents,
    // `entry.id`: the Instagram professional account (equal to page_id only with Instagram Login).
    owns: (cfg, owner) => owner === cfg.instagram_account_id || owner === cfg.page_id,
  }),

  // developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api#send-a-media-message
  filesOut: {
    maxFiles: 10,
    maxFileBytes: 25 * 1024 ** 2,
    refuses: ({ contentType, size }) => (attachmentTypeOf(contentType, size) ? undefined : `Instagram does not take ${contentType} files of this size (images PNG, JPEG or GIF up to 8 MB; video MP4, OGG, AVI, MOV or WebM and audio AAC, M4A, WAV or MP4 up to 25 MB)`),
    source: 'developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api: images 8 MB, video and audio 25 MB',
  },

  async send(cfg, to, msg, ctx) {
    // POST /<PAGE_ID>/messages {recipient:{id:<IGSID>}, message:{text} or {attachment:{type, payload:{url}}}} → {recipient_id, message_id}
    const post = async (message: object) => {
      const res = await callGraph<{ recipient_id?: string; message_id?: string }>(ctx, cfg.access_token, 'POST', `${cfg.page_id}/messages`, { recipient: { id: to.threadKey }, message });
      if (!res.message_id) throw new PlatformError('unavailable', 'Meta accepted the message but returned no message id');
      return res.message_id;
    };
    const files = msg.files ?? [];
    if (files.length === 0) return { platformMessageId: await post({ text: msg.content }) };
    // A message takes text or one attachment: the text first, then a message per file, each fetched by
    // Instagram from an expiring PingBack link; each part recorded as it goes (a retry sends only the rest).
    const parts = partsOf(msg.parts);
    if (msg.content) await parts.send('text', () => post({ text: msg.content }));
    for (const [i, f] of files.entries()) {
      const type = attachmentTypeOf(f.contentType, f.size) ?? 'image';
      await parts.send(`file:${i}`, () => post({ attachment: { type, payload: { url: f.link } } }));
    }
    return { platformMessageId: parts.ids[0] };
  },

  // The cheapest call the token must be good for: reading the Page it sends as. Run by the
  // channel setup workflow on create and on every credential change, so a channel put in
  // `error` by an expired token (190) is connected again once a working token is saved.
  async checkCredentials(cfg, ctx) {
    const page = await callGraph<{ id: string; name?: string }>(ctx, cfg.access_token, 'GET', `${cfg.page_id}?fields=id,name`);
    return { platformAccountId: page.id ?? cfg.page_id, account: page.name ? `the Page ${page.name}` : `Page ID ${cfg.page_id}` };
  },

  async fetchMedia(_cfg, attachment, ctx) {
    // Instagram attachments are signed CDN URLs in the webhook itself; they need no token (and must not get one).
    // The URL is the webhook's word, so downloadMedia fetches it only from Meta's media hosts.
    if (typeof attachment.url !== 'string') throw new PlatformError('rejected', 'this attachment has no media URL');
    return downloadMedia(attachment.url, ctx);
  },
};

/** The Send API's attachment type for a file Instagram takes, by its types and sizes; undefined otherwise. */
function attachmentTypeOf(contentType: string, size: number): 'image' | 'video' | 'audio' | undefined {
  const MB = 1024 ** 2;
  if (/^image\/(png|jpeg|gif)$/.test(contentType) && size <= 8 * MB) return 'image';
  if (/^video\/(mp4|ogg|x-msvideo|quicktime|webm)$/.test(contentType) && size <= 25 * MB) return 'video';
  if (/^audio\/(aac|x-m4a|mp4|wav|x-wav)$/.test(contentType) && size <= 25 * MB) return 'audio';
  return undefined;
}
