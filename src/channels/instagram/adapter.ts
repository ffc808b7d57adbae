import type { ChannelAdapter } from '../types';
import { instagramConfigSchema, InstagramConfig, INSTAGRAM_SECRET_FIELDS } from './config';

/** Config only for now: no `send`, so replies on these channels fail with a clear reason (activities/outbound.ts). */
export const instagramAdapter: ChannelAdapter<InstagramConfig> = {
  type: 'instagram',
  config: instagramConfigSchema,
  secretFields: INSTAGRAM_SECRET_FIELDS,
  setup: 'console',
};
