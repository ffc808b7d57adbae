import { randomUUID } from 'node:crypto';
import type { ChannelAdapter } from '../types';
import { webchatConfigSchema, WebchatConfig, WEBCHAT_SECRET_FIELDS } from './config';

/**
 * PingBack is the web widget's platform: a reply is delivered when the visitor's widget
 * reads it (GET /widget/{channel}/messages, src/widget/routes.ts), so sending only
 * releases it to the widget. There is no remote call that could fail or need a retry.
 */
export const webchatAdapter: ChannelAdapter<WebchatConfig> = {
  type: 'webchat',
  config: webchatConfigSchema,
  secretFields: WEBCHAT_SECRET_FIELDS,
  setup: 'none',
  instructions: 'Put the embed snippet on your site; its domains, welcome message and colours are in the Widget section.',
  // The widget reads a reply's files from PingBack itself.
  repliesWithFiles: true,
  // PingBack is the platform: the widget's own routes (src/widget/) are its way in.
  widget: true,
  callbackPath: (channelId) => `/widget/${channelId}`,
  async send() {
    return { platformMessageId: `webchat:${randomUUID()}` };
  },
};
