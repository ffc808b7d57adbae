import { signal } from '@preact/signals';
import { ApiError, api, get, patch, post, query } from '../api/client';
import type { ConversationItem, Page, TimelineEntry } from '../api/types';
import { applyConversation, markSeen } from './inbox';
import { me } from './session';

/** An entry on screen: the server's, or one this tab is still sending (keyed by its client id). */
export type Entry = TimelineEntry & { sending?: 'sending' | 'failed'; sendError?: string; /** A reply's uploaded files, kept for a retry. */ fileIds?: string[] };

export const openId = signal<string | null>(null);
export const conversation = signal<ConversationItem | null>(null);
export const timeline = signal<Entry[]>([]);
export const olderCursor = signal<string | null>(null);
export const conversationError = signal<string | null>(null);

let generation = 0;

/** Opens a conversation; `refresh` reads the open one again in place (after a reset), keeping the composer's draft. */
export async function openConversation(id: string, opts: { refresh?: boolean } = {}): Promise<void> {
  const mine = ++generation;
  openId.value = id;
  if (!opts.refresh) {
    conversation.value = null;
    timeline.value = [];
  }
  olderCursor.value = null;
  conversationError.value = null;
  try {
    const [conv, page] = await Promise.all([
      get<ConversationItem>(`/api/conversations/${id}`),
      get<Page<TimelineEntry>>(`/api/conversations/${id}/messages${query({ order: 'desc', limit: 50 })}`),
    ]);
    if (mine !== generation) return;
    conversation.value = conv;
    // Merged with what is on screen, what the stream brought while this was read included; entries
    // older than the new first page are dropped, as a fresh open would not show them either.
    const oldest = page.next_cursor && page.data.length ? Math.min(...page.data.map((e) => e.seq)) : -Infinity;
    timeline.value = merge(timeline.value, page.data).filter((e) => e.sending || e.seq >= oldest);
    olderCursor.value = page.next_cursor;
    markRead();
  } catch (err) {
    if (mine === generation) conversationError.value = err instanceof ApiError && err.status === 404 ? 'This conversation does not exist, or is not yours to see.' : (err as Error).message;
  }
}

export function closeConversation(): void {
  generation++;
  openId.value = null;
  conversation.value = null;
  timeline.value = [];
}

export async function loadOlder(): Promise<void> {
  const id = openId.value;
  if (!id || !olderCursor.value) return;
  const page = await get<Page<TimelineEntry>>(`/api/conversations/${id}/messages${query({ order: 'desc', limit: 50, cursor: olderCursor.value })}`);
  if (openId.value !== id) return;
  timeline.value = merge(timeline.value, page.data);
  olderCursor.value = page.next_cursor;
}

/** Entries in timeline order; a newer snapshot of one replaces the older; the server's replaces this tab's optimistic copy. */
function merge(held: Entry[], incoming: TimelineEntry[]): Entry[] {
  const byId = new Map(held.map((e) => [e.id, e]));
  for (const e of incoming) {
    const mine = 'client_id' in e && e.client_id ? held.find((h) => h.sending && 'client_id' in h && h.client_id === e.client_id) : undefined;
    if (mine) byId.delete(mine.id);
    const current = byId.get(e.id);
    if (!current || current.sending || current.updated_at <= e.updated_at) byId.set(e.id, e);
  }
  // Optimistic entries have no seq yet: they stay last until the server's arrive.
  return [...byId.values()].sort((a, b) => (a.sending ? Infinity : a.seq) - (b.sending ? Infinity : b.seq));
}

/**
 * From the event stream: an entry of the open conversation. A new one joins the timeline; an update
 * applies only to one on screen (an older entry above the loaded page stays out of it).
 */
export function applyEntry(entry: TimelineEntry, created: boolean): void {
  if (entry.conversation_id !== openId.value) return;
  // An update of an entry above the loaded pages stays out (it shows when those are loaded);
  // any other is merged, the ones that arrive while the conversation is still being read included.
  const loaded = timeline.value.filter((e) => !e.sending);
  const oldestLoaded = loaded.length ? Math.min(...loaded.map((e) => e.seq)) : Infinity;
  if (!created && olderCursor.value && entry.seq < oldestLoaded && !timeline.value.some((e) => e.id === entry.id)) return;
  timeline.value = merge(timeline.value, [entry]);
  if (entry.kind === 'customer_message') markRead();
}

export function channelChangedForOpen(channel: { id: string; name: string; is_active: boolean }): void {
  const c = conversation.value;
  if (c?.channel.id !== channel.id) return;
  conversation.value = { ...c, channel: { ...c.channel, name: channel.name }, can_reply: channel.is_active, reply_blocked_reason: channel.is_active ? null : 'channel_inactive' };
}

export function applyOpenConversation(item: ConversationItem): void {
  if (item.id !== openId.value) return;
  const held = conversation.value;
  if (held && held.updated_at > item.updated_at) return;
  conversation.value = { ...item, unread_count: 0 };
}

let readTimer: ReturnType<typeof setTimeout> | undefined;
/** Moves the read marker to the newest entry, once the agent has had the conversation in front of them. */
function markRead(): void {
  clearTimeout(readTimer);
  readTimer = setTimeout(() => {
    const id = openId.value;
    const last = [...timeline.value].reverse().find((e) => !e.sending);
    if (!id || !last || document.hidden) return;
    markSeen(id);
    void post(`/api/conversations/${id}/read`, { message_id: last.id }).catch(() => undefined);
  }, 400);
}
if (typeof document !== 'undefined') document.addEventListener('visibilitychange', () => !document.hidden && openId.value && markRead());

const newClientId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`);

/**
 * Sends a reply or a note. It shows at once, keyed by a client id the server keeps, so a retry
 * (or a double click) is the same reply; a failure stays on screen with the reason and a retry.
 */
export async function send(kind: 'reply' | 'note', content: string, attachments: string[] = [], clientId = newClientId()): Promise<void> {
  const id = openId.value;
  if (!id) return;
  const now = new Date().toISOString();
  const user = me.value?.user;
  const author = user ? { type: 'user' as const, id: user.id, name: user.name } : null;
  const optimistic: Entry =
    kind === 'note'
      ? { id: `local-${clientId}`, conversation_id: id, seq: 0, created_at: now, updated_at: now, kind: 'note', content, author, client_id: clientId, sending: 'sending' }
      : {
          id: `local-${clientId}`,
          conversation_id: id,
          seq: 0,
          created_at: now,
          updated_at: now,
          kind: 'reply',
          direction: 'outbound',
          status: 'pending',
          attempts: 0,
          error: null,
          next_attempt_at: null,
          sent_at: null,
          author,
          client_id: clientId,
          content,
          content_type: 'text',
          attachments: [],
          fileIds: attachments,
          platform_message_id: null,
          metadata: {},
          sending: 'sending',
        };
  timeline.value = [...timeline.value.filter((e) => e.id !== optimistic.id), optimistic];
  try {
    const saved =
      kind === 'note'
        ? await post<TimelineEntry>(`/api/conversations/${id}/notes`, { content, client_id: clientId })
        : await post<TimelineEntry>(`/api/conversations/${id}/messages`, { content, client_id: clientId, attachments });
    timeline.value = merge(timeline.value, [saved]);
  } catch (err) {
    timeline.value = timeline.value.map((e) => (e.id === optimistic.id ? { ...e, sending: 'failed', sendError: (err as Error).message } : e));
  }
}

export function retrySend(entry: Entry): Promise<void> {
  const clientId = 'client_id' in entry ? entry.client_id : null;
  if (!clientId || (entry.kind !== 'reply' && entry.kind !== 'note')) return Promise.resolve();
  return send(entry.kind, entry.content, entry.fileIds ?? [], clientId);
}

/** Assign, change the status, snooze: the answer (and the event after it) updates the list and the header. */
/** A WhatsApp template as a reply (the only kind WhatsApp takes once 24 hours have passed); refused, the reason is thrown. */
export async function sendTemplate(template: { name: string; language: string; components: Array<{ type: 'header' | 'body'; parameters: Array<{ type: 'text'; text: string }> }> }): Promise<void> {
  const id = openId.value;
  if (!id) return;
  const saved = await post<TimelineEntry>(`/api/conversations/${id}/messages`, { template, client_id: newClientId() });
  timeline.value = merge(timeline.value, [saved]);
}

/**
 * Sends a failed reply again (POST /api/messages/:id/retry): the entry shows pending at once,
 * and what the platform then says comes by the event stream. Refused (no longer failed, the
 * channel off), the reason is thrown for the caller to show.
 */
export async function retryFailedReply(entry: Extract<Entry, { kind: 'reply' }>): Promise<void> {
  const r = await post<{ message: TimelineEntry }>(`/api/messages/${entry.id}/retry`);
  applyEntry(r.message, false);
}

export async function updateConversation(changes: { status?: string; snoozed_until?: string; assignee_id?: string | null }): Promise<void> {
  const id = openId.value;
  if (!id) return;
  const updated = await patch<ConversationItem>(`/api/conversations/${id}`, changes);
  applyOpenConversation(updated);
  applyConversation(updated);
}

/** A file for the next reply (web chat): uploaded first, then named by the reply. */
export async function uploadFile(file: File): Promise<{ id: string; file_name: string }> {
  const id = openId.value!;
  return api<{ id: string; file_name: string }>('POST', `/api/conversations/${id}/attachments${query({ name: file.name, id: newClientId() })}`, undefined, {
    raw: file,
    contentType: file.type,
  });
}

/** A reply taken back (Temporal never took it): off the screen. */
export function removeEntry(id: string): void {
  timeline.value = timeline.value.filter((e) => e.id !== id);
}
