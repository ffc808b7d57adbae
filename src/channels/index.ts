import type { ChannelAdapter, ChannelType } from './types';
import { telegramAdapter } from './telegram/adapter';

/**
 * channel_type → adapter. Types without an adapter yet cannot be created
 * through the API (see api/channels.ts); adding one is a folder and a line here.
 */
export const adapters: Partial<Record<ChannelType, ChannelAdapter<any>>> = {
  telegram: telegramAdapter,
};

export function adapterFor(type: ChannelType): ChannelAdapter<unknown> | undefined {
  return adapters[type];
}
