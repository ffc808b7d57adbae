import { signal } from '@preact/signals';
import { get } from '../api/client';
import type { Channel, ChannelSummary, ChannelTypeInfo, User } from '../api/types';

export const channels = signal<Channel[]>([]);
export const team = signal<User[]>([]);
export const channelTypes = signal<{ plan: string; usage: { active_channels: number; max_active_channels: number }; data: ChannelTypeInfo[] } | null>(null);

/** The list read afresh; a channel the event stream brought newer news of while it was read keeps that news. */
export async function loadChannels(): Promise<void> {
  const fresh = (await get<{ data: Channel[] }>('/api/channels')).data;
  channels.value = fresh.map((f) => {
    const held = channels.value.find((c) => c.id === f.id);
    if (!held || held.updated_at <= f.updated_at) return f;
    const { id, type, name, is_active, status, status_message, updated_at } = held;
    return { ...f, id, type, name, is_active, status, status_message, updated_at };
  });
}

export async function loadTeam(): Promise<void> {
  team.value = (await get<{ data: User[] }>('/api/users')).data;
}

export async function loadChannelTypes(): Promise<void> {
  channelTypes.value = await get('/api/channel-types');
}

/** A channel's snapshot from the event stream (no config in it: what is held is kept). */
export function applyChannel(summary: ChannelSummary): void {
  const held = channels.value.find((c) => c.id === summary.id);
  if (held && held.updated_at > summary.updated_at) return;
  channels.value = held ? channels.value.map((c) => (c.id === summary.id ? { ...c, ...summary } : c)) : [...channels.value, summary];
}
