import type { z } from 'zod';
import { PlatformError } from '../platform-error';
import type { ChannelAdapter } from '../types';
import { callGraph, downloadMedia, uploadWhatsappMedia } from '../meta/graph-api';
import { metaWebhook } from '../meta/webhook';
import { webhookPath } from '../types';
import { partsOf } from '../send-parts';
import { whatsappConfigSchema, WhatsappConfig, WHATSAPP_SECRET_FIELDS } from './config';
import { graphTemplate } from './templates';
import { whatsappEnvelope, whatsappEvents } from './webhook';

interface SendResponse {
  messaging_product: 'whatsapp';
  contacts?: Array<{ input: string; wa_id: string }>;
  messages: Array<{ id: string; message_status?: string }>;
}
/** GET /{phone-number-id} (developers.facebook.com/docs/whatsapp/business-management-api/manage-phone-numbers). */
interface PhoneNumberInfo {
  id: string;
  display_phone_number?: string;
  verified_name?: string;
}
interface MediaInfo {
  url: string;
  mime_type?: string;
  file_size?: number;
  id: string;
}

/**
 * WhatsApp Cloud API. The webhook is set in the Meta App Dashboard (`console`): the
 * user pastes the channel's callback URL and verify token there. Sends are plain text,
 * quoting the customer's message when the agent replied to one.
 */
export const whatsappAdapter: ChannelAdapter<WhatsappConfig> = {
  type: 'whatsapp',
  config: whatsappConfigSchema,
  secretFields: WHATSAPP_SECRET_FIELDS,
  setup: 'console',
  instructions: "In Meta's App Dashboard, WhatsApp → Configuration → Webhook: paste the callback URL and the verify token, then subscribe to the messages field.",
  callbackPath: webhookPath('whatsapp'),
  webhook: metaWebhook<WhatsappConfig, z.infer<typeof whatsappEnvelope>>({
    envelope: whatsappEnvelope,
    name: 'whatsapp',
    what: 'a WhatsApp webhook',
    events: whatsappEvents,
    // `value.metadata.phone_number_id`: the business number the entry is for.
    owns: (cfg, owner) => owner === cfg.phone_number_id,
  }),

  // developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types
  filesOut: {
    maxFiles: 10,
    maxFileBytes: 100 * 1024 ** 2,
    refuses: ({ contentType, size }) => (mediaKindOf(contentType, size) ? undefined : `WhatsApp does not take ${contentType} files of this size (images JPEG or PNG up to 5 MB; video MP4 or 3GPP and audio up to 16 MB; documents PDF, text, Word, Excel, PowerPoint up to 100 MB)`),
    source: 'developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types',
  },

  async send(cfg, to, msg, ctx) {
    const context = msg.replyToPlatformMessageId ? { context: { message_id: msg.replyToPlatformMessageId } } : {};
    const post = async (content: object) => {
      const res = await callGraph<SendResponse>(ctx, cfg.access_token, 'POST', `${cfg.phone_number_id}/messages`, {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: to.threadKey,
        ...content,
      });
      const id = res.messages?.[0]?.id;
      // Accepted without an id would leave statuses unmatched forever: treat as Meta misbehaving, retry.
      if (!id) throw new PlatformError('unavailable', 'Meta accepted the message but returned no message id');
      return id;
    };
    const files = msg.files ?? [];
    if (files.length === 0) {
      // developers.facebook.com/documentation/business-messaging/whatsapp/messages/text-messages
      // A template goes out at any time; text only within 24 hours of the customer's last message.
      const content = msg.template ? { type: 'template', template: graphTemplate(msg.template) } : { type: 'text', text: { body: msg.content, preview_url: false } };
      return { platformMessageId: await post({ ...content, ...context }) };
    }
    // A message per file (uploaded to the number's media store first), each part recorded as it goes.
    const parts = partsOf(msg.parts);
    // Checked when the reply was written (filesOut.refuses); a document is the safe reading of anything else.
    const kinds = files.map((f) => mediaKindOf(f.contentType, f.size) ?? 'document');
    const caption = kinds[0] !== 'audio' && msg.content.length <= MAX_CAPTION ? msg.content : '';
    if (msg.content && !caption) await parts.send('text', () => post({ type: 'text', text: { body: msg.content, preview_url: false }, ...context }));
    for (const [i, f] of files.entries()) {
      await parts.send(`file:${i}`, async () => {
        const mediaId = await uploadWhatsappMedia(ctx, cfg.access_token, cfg.phone_number_id, { name: f.fileName, type: f.contentType, bytes: await f.load() });
        const kind = kinds[i];
        const media = { id: mediaId, ...(i === 0 && caption ? { caption } : {}), ...(kind === 'document' ? { filename: f.fileName } : {}) };
        return post({ type: kind, [kind]: media, ...(parts.ids.length === 0 ? context : {}) });
      });
    }
    return { platformMessageId: parts.ids[0] };
  },

  // The cheapest call the token must be good for: reading its own business number. Run by the
  // channel setup workflow on create and on every credential change, so a channel put in
  // `error` by an expired token (190) is connected again once a working token is saved.
  async checkCredentials(cfg, ctx) {
    const number = await callGraph<PhoneNumberInfo>(ctx, cfg.access_token, 'GET', `${cfg.phone_number_id}?fields=id,display_phone_number,verified_name`);
    const shown = [number.verified_name, number.display_phone_number && `(${number.display_phone_number})`].filter(Boolean).join(' ');
    return { platformAccountId: number.id ?? cfg.phone_number_id, account: shown || `phone number ID ${cfg.phone_number_id}` };
  },

  async fetchMedia(cfg, attachment, ctx) {
    // Media ids stay valid for 30 days; the URL they resolve to for 5 minutes, so it is asked for each time.
    if (!attachment.platformFileId) throw new PlatformError('rejected', 'this attachment has no WhatsApp media id');
    const info = await callGraph<MediaInfo>(ctx, cfg.access_token, 'GET', `${encodeURIComponent(attachment.platformFileId)}?phone_number_id=${cfg.phone_number_id}`);
    const media = await downloadMedia(info.url, ctx, cfg.access_token);
    return { ...media, contentType: info.mime_type ?? media.contentType };
  },
};

/** A caption's limit (images, videos, documents; audio takes none). */
const MAX_CAPTION = 1024;

/**
 * How a file goes, by the types and sizes WhatsApp takes for each kind of message
 * (developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types);
 * undefined for a file it takes as none of them.
 */
function mediaKindOf(contentType: string, size: number): 'image' | 'video' | 'audio' | 'document' | undefined {
  const MB = 1024 ** 2;
  if (/^image\/(jpeg|png)$/.test(contentType) && size <= 5 * MB) return 'image';
  if (/^video\/(mp4|3gpp|3gp)$/.test(contentType) && size <= 16 * MB) return 'video';
  if (/^audio\/(aac|amr|mpeg|mp4|ogg)$/.test(contentType) && size <= 16 * MB) return 'audio';
  if (WHATSAPP_DOCUMENTS.has(contentType) && size <= 100 * MB) return 'document';
  return undefined;
}

const WHATSAPP_DOCUMENTS = new Set([
  'text/plain',
  'application/pdf',
  'application/msword',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.ms-powerpoint',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
]);
