import type { ChannelAdapter } from '../types';
import { webchatConfigSchema, WebchatConfig, WEBCHAT_SECRET_FIELDS } from './config';

/** Config only for now: no `send`, so replies on these channels fail with a clear reason (activities/outbound.ts). */
export const webchatAdapter: ChannelAdapter<WebchatConfig> = {
  type: 'webchat',
  config: webchatConfigSchema,
  secretFields: WEBCHAT_SECRET_FIELDS,
  setup: 'none',
};
