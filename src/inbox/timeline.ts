import type { Knex } from 'knex';
import type { Db } from '../db/knex';
import type { Author, TimelineEntry } from './schemas';
import { iso } from './conversations';

/**
 * A conversation's timeline: its messages (customer messages and replies) and its entries
 * (notes and activity), which share one sequence, merged in that order. Messages and
 * entries stay in tables of their own so nothing that reads messages (the widget, the
 * adapters) can ever see a note.
 */
const MESSAGE_COLUMNS = `'message' AS source, m.id, m.seq, m.conversation_id, m.direction, m.content, m.content_type, m.attachments,
  m.status, m.attempts, m.error, m.next_attempt_at, m.platform_message_id, m.metadata, m.sent_at, m.created_at, m.updated_at,
  m.author_user_id, m.author_api_key_id, m.client_id, NULL::text AS kind, NULL::jsonb AS activity`;
const ENTRY_COLUMNS = `'entry' AS source, e.id, e.seq, e.conversation_id, NULL::text AS direction, e.content, 'text' AS content_type, '[]'::jsonb AS attachments,
  NULL::text AS status, 0 AS attempts, NULL::text AS error, NULL::timestamptz AS next_attempt_at, NULL::text AS platform_message_id, '{}'::jsonb AS metadata, NULL::timestamptz AS sent_at,
  e.created_at, e.updated_at, e.author_user_id, e.author_api_key_id, e.client_id, e.kind, e.activity`;

interface Where {
  /** SQL over `m.`/`e.` and its bindings, applied to both halves. */
  messages: [string, unknown[]];
  entries: [string, unknown[]];
}

/** Each half may be ordered and cut first (`ORDER BY seq … LIMIT n`): the union then merges two short lists. */
function timelineQuery(db: Db | Knex.Transaction, where: Where, each: [string, unknown[]] = ['', []], tail: [string, unknown[]] = ['', []]) {
  return db.raw(
    `SELECT t.*, u.name AS user_name, k.name AS api_key_name FROM (
       (SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE ${where.messages[0]} ${each[0]})
       UNION ALL
       (SELECT ${ENTRY_COLUMNS} FROM conversation_entries e WHERE ${where.entries[0]} ${each[0]})
     ) t
     LEFT JOIN users u ON u.id = t.author_user_id
     LEFT JOIN api_keys k ON k.id = t.author_api_key_id
     ${tail[0]}`,
    [...where.messages[1], ...each[1], ...where.entries[1], ...each[1], ...tail[1]] as Knex.RawBinding[],
  );
}

/** One page of a conversation's timeline after (or, newest first, before) a seq. */
export async function timelinePage(
  db: Db,
  conversationId: string,
  opts: { afterSeq?: string; beforeSeq?: string; limit: number; order: 'asc' | 'desc' },
): Promise<Array<TimelineEntry & { _seq: string }>> {
  const bound = (alias: 'm' | 'e'): [string, unknown[]] => {
    const parts = [`${alias}.conversation_id = ?`];
    const values: unknown[] = [conversationId];
    if (opts.afterSeq) (parts.push(`${alias}.seq > ?`), values.push(opts.afterSeq));
    if (opts.beforeSeq) (parts.push(`${alias}.seq < ?`), values.push(opts.beforeSeq));
    return [parts.join(' AND '), values];
  };
  // Each half walks its (conversation_id, seq) index for at most a page; a long conversation costs no more.
  const direction = opts.order === 'desc' ? 'DESC' : 'ASC';
  const page: [string, unknown[]] = [`ORDER BY seq ${direction} LIMIT ?`, [opts.limit]];
  const result = await timelineQuery(db, { messages: bound('m'), entries: bound('e') }, page, [`ORDER BY t.seq ${direction} LIMIT ?`, [opts.limit]]);
  return result.rows.map((r: Record<string, any>) => ({ ...presentEntry(r), _seq: String(r.seq) }));
}

/** Messages and entries by id, presented (the event stream's snapshots). */
export async function loadEntries(db: Db, accountId: string, ids: { messages: string[]; entries: string[] }): Promise<Map<string, TimelineEntry>> {
  if (ids.messages.length === 0 && ids.entries.length === 0) return new Map();
  const ofAccount = (alias: 'm' | 'e', list: string[]): [string, unknown[]] => [
    `${alias}.id = ANY(?::uuid[]) AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = ${alias}.conversation_id AND c.account_id = ?)`,
    // As an array literal: knex would spread a JavaScript array into a list of placeholders.
    [`{${list.join(',')}}`, accountId],
  ];
  const result = await timelineQuery(db, { messages: ofAccount('m', ids.messages), entries: ofAccount('e', ids.entries) });
  return new Map(result.rows.map((r: Record<string, any>) => [r.id, presentEntry(r)]));
}


function author(r: Record<string, any>): Author | null {
  if (r.author_user_id) return { type: 'user', id: r.author_user_id, name: r.user_name };
  if (r.author_api_key_id) return { type: 'api_key', id: r.author_api_key_id, name: r.api_key_name };
  return null;
}

export function presentEntry(r: Record<string, any>): TimelineEntry {
  const base = { id: r.id, conversation_id: r.conversation_id, seq: Number(r.seq), created_at: iso(r.created_at)!, updated_at: iso(r.updated_at)! };
  if (r.source === 'entry') {
    return r.kind === 'note'
      ? { ...base, kind: 'note', content: r.content, author: author(r), client_id: r.client_id }
      : { ...base, kind: 'activity', activity: r.activity, author: author(r) };
  }
  const message = {
    content: r.content,
    content_type: r.content_type,
    attachments: r.attachments,
    platform_message_id: r.platform_message_id,
    metadata: r.metadata,
  };
  if (r.direction === 'inbound') return { ...base, kind: 'customer_message', direction: 'inbound', status: 'received', ...message };
  return {
    ...base,
    kind: 'reply',
    direction: 'outbound',
    status: r.status,
    attempts: r.attempts,
    error: r.error,
    next_attempt_at: iso(r.next_attempt_at),
    sent_at: iso(r.sent_at),
    author: author(r),
    client_id: r.client_id,
    ...message,
  };
}
