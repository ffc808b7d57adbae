import type { Db } from '../db/knex';
import { loadConversations } from '../inbox/conversations';
import type { ChannelSummary, EventType, InboxEvent } from '../inbox/schemas';
import { loadEntries } from '../inbox/timeline';

/** A row of the events table: what changed, not how it looks (src/events/hub.ts reads it). */
export interface EventRow {
  id: string;
  xid: string;
  account_id: string;
  type: EventType;
  conversation_id: string | null;
  message_id: string | null;
  entry_id: string | null;
  channel_id: string | null;
  created_at: Date;
}

export const EVENT_COLUMNS = 'id::text, xid::text, account_id, type, conversation_id, message_id, entry_id, channel_id, created_at';

/**
 * One account's event rows with the current snapshot of what each names, read in one query
 * per kind of object. An event whose object is gone (a reply deleted because Temporal never
 * took it) is left out.
 */
export async function presentEvents(db: Db, accountId: string, rows: EventRow[]): Promise<InboxEvent[]> {
  const ids = (pick: (r: EventRow) => string | null) => [...new Set(rows.map(pick).filter((id): id is string => id !== null))];
  const conversationIds = ids((r) => (r.type.startsWith('conversation.') ? r.conversation_id : null));
  const channelIds = ids((r) => r.channel_id);
  const [conversations, entries, channels] = await Promise.all([
    loadConversations(db, accountId, conversationIds),
    loadEntries(db, accountId, { messages: ids((r) => r.message_id), entries: ids((r) => r.entry_id) }),
    loadChannels(db, accountId, channelIds),
  ]);
  const events: InboxEvent[] = [];
  for (const r of rows) {
    const base = { id: r.id, created_at: new Date(r.created_at).toISOString() };
    if (r.type === 'conversation.created' || r.type === 'conversation.updated') {
      const data = conversations.get(r.conversation_id!);
      if (data) events.push({ ...base, type: r.type, data });
    } else if (r.type === 'message.created' || r.type === 'message.updated') {
      const data = entries.get((r.message_id ?? r.entry_id)!);
      if (data) events.push({ ...base, type: r.type, data });
    } else {
      const data = channels.get(r.channel_id!);
      if (data) events.push({ ...base, type: r.type, data });
    }
  }
  return events;
}

export const CHANNEL_SUMMARY_COLUMNS = ['id', 'type', 'name', 'is_active', 'status', 'status_message', 'updated_at'] as const;

export function presentChannelSummary(r: Record<string, any>): ChannelSummary {
  return {
    id: r.id,
    type: r.type,
    name: r.name,
    is_active: r.is_active,
    status: r.status,
    status_message: r.status_message,
    updated_at: new Date(r.updated_at).toISOString(),
  };
}

async function loadChannels(db: Db, accountId: string, ids: string[]): Promise<Map<string, ChannelSummary>> {
  if (ids.length === 0) return new Map();
  const rows = await db('channels').where({ account_id: accountId }).whereIn('id', ids).select(CHANNEL_SUMMARY_COLUMNS);
  return new Map(rows.map((r: Record<string, any>) => [r.id, presentChannelSummary(r)]));
}
