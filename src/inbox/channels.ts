import { repliesWithFiles } from '../channels';
import type { ChannelSummary } from './schemas';

/** A channel as agents and the event stream see it: no configuration, no secrets. */
export const CHANNEL_SUMMARY_COLUMNS = ['id', 'type', 'name', 'is_active', 'status', 'status_message', 'reconnect_required_at', 'updated_at'] as const;

export function presentChannelSummary(r: Record<string, any>): ChannelSummary {
  return {
    id: r.id,
    type: r.type,
    name: r.name,
    is_active: r.is_active,
    status: r.status,
    status_message: r.status_message,
    reconnect_required_at: r.reconnect_required_at ? new Date(r.reconnect_required_at).toISOString() : null,
    replies_with_files: repliesWithFiles(r.type),
    updated_at: new Date(r.updated_at).toISOString(),
  };
}
