import { z } from 'zod';
import { CHANNEL_TYPES, ChannelType } from './channels/types';

export const PLANS = ['free', 'mini', 'pro'] as const;
export const planSchema = z.enum(PLANS);
export type Plan = z.infer<typeof planSchema>;

/**
 * What each plan allows. Limits count active channels. `maxStoredBytes` bounds the files
 * PingBack keeps for the account (stored_media): web chat visitors are anonymous, so their
 * uploads are refused past it; mail by webhook is never refused for it (the customer's words
 * are always taken), but its files are not kept once it is reached (src/db/stored-media.ts).
 */
export const PLAN_LIMITS: Record<Plan, { maxChannels: number; channelTypes: readonly ChannelType[]; maxStoredBytes: number }> = {
  free: { maxChannels: 1, channelTypes: ['webchat'], maxStoredBytes: 1 * 1024 ** 3 },
  mini: { maxChannels: 3, channelTypes: CHANNEL_TYPES, maxStoredBytes: 10 * 1024 ** 3 },
  pro: { maxChannels: 100, channelTypes: CHANNEL_TYPES, maxStoredBytes: 100 * 1024 ** 3 },
};
