import { webhookPath, type ChannelAdapter } from '../types';
import { partsOf } from '../send-parts';
import { callXApi, whoAmI } from './api';
import { PlatformError } from '../platform-error';
import { downloadDmMedia, uploadDmImage, X_FILES_OUT } from './media';
import { xPoll } from './poll';
import { xConfigSchema, XConfig, X_SECRET_FIELDS } from './config';
import { xWebhook } from './webhook';

/**
 * X DMs. Inbound comes by polling (./poll.ts, driven by workflows/channel-poller.ts) or Account Activity webhooks
 * (./webhook.ts), which the user registers in X's developer portal: hence `console`.
 */
export const xAdapter: ChannelAdapter<XConfig> = {
  type: 'x',
  config: xConfigSchema,
  secretFields: X_SECRET_FIELDS,
  setup: 'console',
  instructions: "With polling there is nothing to paste. With webhooks, register the callback URL as your X app's Account Activity webhook (X checks it with a CRC request) and subscribe the account.",

  filesOut: X_FILES_OUT,

  async send(cfg, to, msg, ctx) {
    // docs.x.com: POST /2/dm_conversations/with/:participant_id/messages → 201 {data: {dm_conversation_id, dm_event_id}}
    const dm = async (body: { text?: string; attachments?: Array<{ media_id: string }> }) => {
      const { body: res } = await callXApi<{ data: { dm_conversation_id: string; dm_event_id: string } }>(ctx.xApiBaseUrl, cfg, {
        method: 'POST',
        path: `/2/dm_conversations/with/${encodeURIComponent(to.platformUserId)}/messages`,
        json: body,
      });
      // The event id is also what polling and webhooks report for this DM (as an echo).
      return res.data.dm_event_id;
    };
    const files = msg.files ?? [];
    if (files.length === 0) return { platformMessageId: await dm({ text: msg.content }) };
    // One media per DM: the text rides on the first, each further file is a DM of its own,
    // recorded as it goes (msg.parts) so a retry sends only what is missing.
    const parts = partsOf(msg.parts);
    for (const [i, f] of files.entries()) {
      await parts.send(`file:${i}`, async () => {
        const mediaId = await uploadDmImage(ctx.xApiBaseUrl, cfg, { name: f.fileName, type: f.contentType, bytes: await f.load() });
        return dm({ ...(i === 0 && msg.content ? { text: msg.content } : {}), attachments: [{ media_id: mediaId }] });
      });
    }
    return { platformMessageId: parts.ids[0] };
  },

  checkCredentials: (cfg, ctx) => whoAmI(ctx.xApiBaseUrl, cfg),

  async fetchMedia(cfg, attachment, ctx) {
    if (typeof attachment.url !== 'string') throw new PlatformError('rejected', 'this attachment has no media URL');
    return downloadDmMedia(ctx.xApiBaseUrl, cfg, attachment.url);
  },

  callbackPath: webhookPath('x'),
  webhook: xWebhook,
  poll: xPoll,
};
