import { CHANNEL_TYPES, ChannelType } from './channels/types';
import type { Plan } from './db/accounts';

/** What each plan allows. Limits count active channels. */
export const PLAN_LIMITS: Record<Plan, { maxChannels: number; channelTypes: readonly ChannelType[] }> = {
  free: { maxChannels: 1, channelTypes: ['webchat'] },
  mini: { maxChannels: 3, channelTypes: CHANNEL_TYPES },
  pro: { maxChannels: 100, channelTypes: CHANNEL_TYPES },
};
