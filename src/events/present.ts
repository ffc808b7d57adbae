import type { Db } from '../db/knex';
import { loadConversations } from '../inbox/conversations';
import type { ChannelSummary, EventType, InboxEvent } from '../inbox/schemas';
import { CHANNEL_SUMMARY_COLUMNS, presentChannelSummary } from '../inbox/channels';
import { loadEntries } from '../inbox/timeline';

/** A row of the events table: what changed, not how it looks (src/events/hub.ts reads it). */
export interface EventRow {
  id: string;
  account_id: string;
  type: EventType;
  conversation_id: string | null;
  message_id: string | null;
  entry_id: string | null;
  channel_id: string | null;
  created_at: Date;
}

export const EVENT_COLUMNS = 'id::text, account_id, type, conversation_id, message_id, entry_id, channel_id, created_at';

/**
 * One account's event rows with the current snapshot of what each names, read in one query
 * per kind of object. An event whose object is gone since is left out (its deletion has an
 * event of its own).
 */
export async function presentEvents(db: Db, accountId: string, rows: EventRow[]): Promise<InboxEvent[]> {
  const ids = (pick: (r: EventRow) => string | null) => [...new Set(rows.map(pick).filter((id): id is string => id !== null))];
  const conversationIds = ids((r) => (r.type.startsWith('conversation.') ? r.conversation_id : null));
  const channelIds = ids((r) => r.channel_id);
  const [conversations, entries, channels] = await Promise.all([
    loadConversations(db, accountId, conversationIds),
    loadEntries(db, accountId, { messages: ids((r) => (r.type === 'message.deleted' ? null : r.message_id)), entries: ids((r) => r.entry_id) }),
    loadChannels(db, accountId, channelIds),
  ]);
  const events: InboxEvent[] = [];
  for (const r of rows) {
    const base = { id: r.id, created_at: new Date(r.created_at).toISOString() };
    if (r.type === 'message.deleted') {
      events.push({ ...base, type: r.type, data: { id: r.message_id!, conversation_id: r.conversation_id! } });
    } else if (r.type === 'conversation.created' || r.type === 'conversation.updated') {
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

async function loadChannels(db: Db, accountId: string, ids: string[]): Promise<Map<string, ChannelSummary>> {
  if (ids.length === 0) return new Map();
  const rows = await db('channels').where({ account_id: accountId }).whereIn('id', ids).select(CHANNEL_SUMMARY_COLUMNS);
  return new Map(rows.map((r: Record<string, any>) => [r.id, presentChannelSummary(r)]));
}
