import { webhookPath, type ChannelAdapter } from '../types';
import { callXApi, whoAmI } from './api';
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

  async send(cfg, to, msg, ctx) {
    // docs.x.com: POST /2/dm_conversations/with/:participant_id/messages → 201 {data: {dm_conversation_id, dm_event_id}}
    const { body } = await callXApi<{ data: { dm_conversation_id: string; dm_event_id: string } }>(ctx.xApiBaseUrl, cfg, {
      method: 'POST',
      path: `/2/dm_conversations/with/${encodeURIComponent(to.platformUserId)}/messages`,
      json: { text: msg.content },
    });
    // The event id is also what polling and webhooks report for this DM (as an echo).
    return { platformMessageId: body.data.dm_event_id };
  },

  checkCredentials: (cfg, ctx) => whoAmI(ctx.xApiBaseUrl, cfg),

  callbackPath: webhookPath('x'),
  webhook: xWebhook,
  poll: xPoll,
};
