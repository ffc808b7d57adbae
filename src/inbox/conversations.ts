import type { Knex } from 'knex';
import type { ChannelType } from '../channels/names';
import type { Db } from '../db/knex';
import type { ConversationItem, ConversationStatus } from './schemas';
import { contactSearch, messageMatches, messageSearch } from './search';

/** At most this many unread messages are counted per conversation: a badge shows "99+" anyway. */
export const MAX_UNREAD_COUNTED = 100;
const PREVIEW_CHARS = 160;

/**
 * The inbox's rows, one query: the conversation with its channel, contact and assignee, its
 * last message (customer's or reply) and, for a signed-in user, how many customer messages
 * came after their read marker. The two lateral lookups run only for the rows returned: the
 * planner walks an inbox index in order and stops at the page's end.
 */
export function conversationItems(db: Db | Knex.Transaction, accountId: string, userId: string | null): Knex.QueryBuilder {
  return db('conversations as c')
    .join('channels as ch', 'ch.id', 'c.channel_id')
    .join('contacts as ct', 'ct.id', 'c.contact_id')
    .leftJoin('users as u', 'u.id', 'c.assignee_id')
    .joinRaw(
      `LEFT JOIN LATERAL (
         SELECT m.direction, left(m.content, ${PREVIEW_CHARS + 1}) AS content, jsonb_array_length(m.attachments) AS files,
                m.attachments -> 0 ->> 'type' AS file_type, m.created_at
         FROM messages m WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1) lm ON true`,
    )
    .modify((q) => {
      if (!userId) return;
      q.joinRaw(
        `LEFT JOIN LATERAL (
           SELECT count(*) AS n FROM (
             SELECT 1 FROM messages m
             WHERE m.conversation_id = c.id AND m.direction = 'inbound'
               AND m.seq > COALESCE((SELECT r.last_read_seq FROM conversation_reads r WHERE r.user_id = ? AND r.conversation_id = c.id), 0)
             LIMIT ${MAX_UNREAD_COUNTED}) unread) ur ON true`,
        [userId],
      );
    })
    .where('c.account_id', accountId)
    .select(
      'c.id',
      'c.channel_id',
      'c.channel_type',
      'c.status',
      'c.snoozed_until',
      'c.workflow_id',
      'c.thread_key',
      'c.last_message_at',
      'c.last_inbound_at',
      // The cursor keeps PostgreSQL's own microseconds: JavaScript dates would round them.
      db.raw('c.last_message_at::text AS cursor_ts'),
      'c.created_at',
      'c.updated_at',
      'ch.name as channel_name',
      'ch.is_active as channel_active',
      'ch.status as channel_status',
      'ct.id as contact_id',
      'ct.platform_user_id as contact_platform_user_id',
      'ct.name as contact_name',
      'ct.username as contact_username',
      'u.id as assignee_id',
      'u.name as assignee_name',
      'lm.direction as lm_direction',
      'lm.content as lm_content',
      'lm.files as lm_files',
      'lm.file_type as lm_file_type',
      'lm.created_at as lm_created_at',
      userId ? db.raw('ur.n::int AS unread_count') : db.raw('NULL::int AS unread_count'),
    );
}

export const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

/** What a list shows of a message: its first words, or what it carries when it has no text. */
export function preview(content: string | null, files: number, fileType: string | null): string {
  const text = (content ?? '').replace(/\s+/g, ' ').trim();
  if (text) return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
  if (files > 0) return files === 1 ? `[${fileType ?? 'file'}]` : `[${files} files]`;
  return '';
}

/** WhatsApp takes free-form replies within 24 hours of the customer's last message (templates at any time). */
export const MESSAGING_WINDOW_MS: Partial<Record<ChannelType, number>> = { whatsapp: 24 * 3_600_000 };

/** When a conversation's messaging window closes, on channels that have one (null elsewhere, or before the customer wrote). */
export function windowClosesAt(channelType: ChannelType, lastInboundAt: Date | string | null): Date | null {
  const window = MESSAGING_WINDOW_MS[channelType];
  return window !== undefined && lastInboundAt ? new Date(new Date(lastInboundAt).getTime() + window) : null;
}

/** Whether an agent can write a free-form reply now, and why not. */
function replyState(r: Record<string, any>): Pick<ConversationItem, 'can_reply' | 'reply_blocked_reason' | 'window_closes_at'> {
  const closes = windowClosesAt(r.channel_type, r.last_inbound_at ?? null);
  const reason = !r.channel_active
    ? 'channel_inactive'
    : r.channel_status === 'reconnect_required'
      ? 'reconnect_required'
      : closes && closes.getTime() <= Date.now()
        ? 'outside_messaging_window'
        : null;
  return { can_reply: reason === null, reply_blocked_reason: reason, window_closes_at: closes?.toISOString() ?? null };
}

export function presentConversation(r: Record<string, any>): ConversationItem {
  return {
    id: r.id,
    channel: { id: r.channel_id, type: r.channel_type, name: r.channel_name },
    channel_id: r.channel_id,
    channel_type: r.channel_type,
    contact: {
      id: r.contact_id,
      name: r.contact_name,
      handle: r.contact_username ?? r.contact_platform_user_id,
      platform_user_id: r.contact_platform_user_id,
      username: r.contact_username,
    },
    status: r.status,
    snoozed_until: iso(r.snoozed_until),
    assignee: r.assignee_id ? { id: r.assignee_id, name: r.assignee_name } : null,
    last_message: r.lm_direction
      ? { direction: r.lm_direction, preview: preview(r.lm_content, r.lm_files, r.lm_file_type), created_at: iso(r.lm_created_at)! }
      : null,
    unread_count: r.unread_count ?? null,
    ...replyState(r),
    last_message_at: iso(r.last_message_at)!,
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
    workflow_id: r.workflow_id,
  };
}

/** Conversations by id, presented (the event stream's snapshots, one query for a batch). */
export async function loadConversations(db: Db, accountId: string, ids: string[], userId: string | null = null): Promise<Map<string, ConversationItem>> {
  if (ids.length === 0) return new Map();
  const rows = await conversationItems(db, accountId, userId).whereIn('c.id', ids);
  return new Map(rows.map((r: Record<string, any>) => [r.id, presentConversation(r)]));
}

export interface InboxFilters {
  channel_type?: string;
  channel_id?: string;
  contact_id?: string;
  status: ConversationStatus | 'all';
  /** `me` needs userId. */
  assignee: 'me' | 'unassigned' | 'all' | string;
  q?: string;
  unread?: 'true' | 'false';
  limit: number;
}

/**
 * One page of the inbox (one row more than the page, to tell whether another follows):
 * filters combined, newest activity first, after the cursor's (last_message_at, id).
 */
export function inboxQuery(db: Db, accountId: string, userId: string | null, f: InboxFilters, after?: [string, string]): Knex.QueryBuilder {
  return conversationItems(db, accountId, userId)
    .modify((b) => {
      if (f.channel_type) b.where('c.channel_type', f.channel_type);
      if (f.channel_id) b.where('c.channel_id', f.channel_id);
      if (f.contact_id) b.where('c.contact_id', f.contact_id);
      if (f.status !== 'all') b.where('c.status', f.status);
      if (f.assignee === 'me') b.where('c.assignee_id', userId);
      else if (f.assignee === 'unassigned') b.whereNull('c.assignee_id');
      else if (f.assignee !== 'all') b.where('c.assignee_id', f.assignee);
      if (f.unread === 'true') b.whereRaw('ur.n > 0');
      if (f.q) {
        const words = messageSearch(f.q);
        b.where((w) => {
          w.whereIn('c.contact_id', contactSearch(db, accountId, f.q!));
          if (words) w.orWhereIn('c.id', messageMatches(db, accountId, words));
        });
      }
      if (after) b.whereRaw('(c.last_message_at, c.id) < (?::timestamptz, ?::uuid)', after);
    })
    .orderBy([
      { column: 'c.last_message_at', order: 'desc' },
      { column: 'c.id', order: 'desc' },
    ])
    .limit(f.limit + 1);
}
