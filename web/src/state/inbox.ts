import { computed, signal } from '@preact/signals';
import { get, query } from '../api/client';
import type { ChannelType, ConversationItem, ConversationStatus, Counts, Page } from '../api/types';
import { CHANNEL_TYPES, CONVERSATION_STATUSES } from '../api/types';
import { me } from './session';

/** What the inbox shows; all of it lives in the URL, so a reload or a shared link shows the same view. */
export interface Filters {
  tab: 'mine' | 'unassigned' | 'all';
  status: ConversationStatus | 'all';
  type: ChannelType | '';
  channel: string;
  q: string;
}

export const DEFAULT_FILTERS: Filters = { tab: 'all', status: 'open', type: '', channel: '', q: '' };

export function filtersFrom(params: Record<string, string | undefined>): Filters {
  const tab = params.tab === 'mine' || params.tab === 'unassigned' ? params.tab : 'all';
  const status = params.status === 'all' || (CONVERSATION_STATUSES as readonly string[]).includes(params.status ?? '') ? (params.status as Filters['status']) : 'open';
  const type = (CHANNEL_TYPES as readonly string[]).includes(params.type ?? '') ? (params.type as ChannelType) : '';
  const channel = /^[0-9a-f-]{36}$/i.test(params.channel ?? '') ? params.channel! : '';
  return { tab, status, type, channel, q: (params.q ?? '').slice(0, 200) };
}

/** The URL's query for filters: only what differs from the default. */
export function filtersQuery(f: Filters): string {
  return query({
    tab: f.tab === 'all' ? undefined : f.tab,
    status: f.status === 'open' ? undefined : f.status,
    type: f.type || undefined,
    channel: f.channel || undefined,
    q: f.q || undefined,
  });
}

export const conversations = signal<ConversationItem[]>([]);
export const nextCursor = signal<string | null>(null);
export const loading = signal(false);
export const loadError = signal<string | null>(null);
export const counts = signal<Counts | null>(null);
/** The page title's count: unread customer messages in the conversations on screen. */
export const unreadTotal = computed(() => conversations.value.reduce((n, c) => n + (c.unread_count ?? 0), 0));

let filters: Filters = DEFAULT_FILTERS;
let generation = 0;

const apiQuery = (f: Filters, cursor?: string | null) =>
  query({
    assignee: f.tab === 'mine' ? 'me' : f.tab === 'unassigned' ? 'unassigned' : undefined,
    status: f.status,
    channel_type: f.type || undefined,
    channel_id: f.channel || undefined,
    q: f.q || undefined,
    limit: 40,
    cursor: cursor ?? undefined,
  });

export async function loadInbox(f: Filters): Promise<void> {
  filters = f;
  const mine = ++generation;
  loading.value = true;
  loadError.value = null;
  try {
    const page = await get<Page<ConversationItem>>(`/api/conversations${apiQuery(f)}`);
    if (mine !== generation) return;
    // A row the event stream brought newer news of while the page was read keeps that news.
    const held = new Map(conversations.value.map((c) => [c.id, c]));
    conversations.value = page.data.map((c) => {
      const h = held.get(c.id);
      return h && h.updated_at > c.updated_at ? { ...h, unread_count: c.unread_count } : c;
    });
    nextCursor.value = page.next_cursor;
  } catch (err) {
    if (mine === generation) loadError.value = (err as Error).message;
  } finally {
    if (mine === generation) loading.value = false;
  }
  void loadCounts();
}

/** The next page, for endless scrolling. */
export async function loadMore(): Promise<void> {
  if (!nextCursor.value || loading.value) return;
  const mine = generation;
  loading.value = true;
  loadError.value = null;
  try {
    const page = await get<Page<ConversationItem>>(`/api/conversations${apiQuery(filters, nextCursor.value)}`);
    if (mine !== generation) return;
    const seen = new Set(conversations.value.map((c) => c.id));
    conversations.value = [...conversations.value, ...page.data.filter((c) => !seen.has(c.id))];
    nextCursor.value = page.next_cursor;
  } catch (err) {
    if (mine === generation) loadError.value = (err as Error).message;
  } finally {
    if (mine === generation) loading.value = false;
  }
}

let countsTimer: ReturnType<typeof setTimeout> | undefined;
export async function loadCounts(): Promise<void> {
  counts.value = await get<Counts>('/api/conversations/counts').catch(() => counts.value);
}
/** Many events in a burst ask for the counts once. */
function countsSoon(): void {
  clearTimeout(countsTimer);
  countsTimer = setTimeout(() => void loadCounts(), 300);
}

function matches(c: ConversationItem, f: Filters): boolean {
  if (f.status !== 'all' && c.status !== f.status) return false;
  if (f.tab === 'mine' && c.assignee?.id !== me.value?.user?.id) return false;
  if (f.tab === 'unassigned' && c.assignee) return false;
  if (f.type && c.channel_type !== f.type) return false;
  if (f.channel && c.channel.id !== f.channel) return false;
  return true;
}

const newest = (a: ConversationItem, b: ConversationItem) => b.last_message_at.localeCompare(a.last_message_at) || b.id.localeCompare(a.id);

let searchReload: ReturnType<typeof setTimeout> | undefined;

/** Bumped by markSeen: an answer asked for before the agent saw the conversation is stale. */
const seenTimes = new Map<string, number>();

/** A row that entered from the stream: its unread count is this user's, which only the API knows. */
function fetchUnread(id: string): void {
  const asked = seenTimes.get(id) ?? 0;
  void get<ConversationItem>(`/api/conversations/${id}`)
    .then((full) => {
      if ((seenTimes.get(id) ?? 0) !== asked) return;
      conversations.value = conversations.value.map((c) => (c.id === id ? { ...c, unread_count: full.unread_count } : c));
    })
    .catch(() => undefined);
}

/**
 * A conversation's snapshot from the event stream: applied only when newer than the one on
 * screen (events can cross), placed by its last activity, or taken out when it no longer fits
 * the filters. Events carry no per-user unread count: the one on screen is kept.
 */
export function applyConversation(item: ConversationItem): void {
  countsSoon();
  const list = conversations.value;
  const held = list.find((c) => c.id === item.id);
  if (held && held.updated_at > item.updated_at) return;
  if (filters.q) {
    // Whether it matches a search is the server's to say: read the page again, at most every 2 s.
    searchReload ??= setTimeout(() => {
      searchReload = undefined;
      void loadInbox(filters);
    }, 2000);
    return;
  }
  const merged = { ...item, unread_count: held?.unread_count ?? item.unread_count ?? 0 };
  const rest = list.filter((c) => c.id !== item.id);
  if (!matches(merged, filters)) {
    if (held) conversations.value = rest;
    return;
  }
  // Past the loaded page it comes with the next one, in its place.
  const last = rest[rest.length - 1];
  if (!held && nextCursor.value && last && newest(merged, last) > 0) return;
  conversations.value = [...rest, merged].sort(newest);
  // Its count as the API has it overrides what was counted here meanwhile, whichever of the message's
  // two events came first.
  if (!held) fetchUnread(item.id);
}

/** A channel switched off or on, or renamed: its conversations say whether a reply can go out. */
export function channelChanged(channel: { id: string; name: string; is_active: boolean }): void {
  conversations.value = conversations.value.map((c) =>
    c.channel.id === channel.id
      ? { ...c, channel: { ...c.channel, name: channel.name }, can_reply: channel.is_active, reply_blocked_reason: channel.is_active ? null : 'channel_inactive' }
      : c,
  );
}

const unreadTimers = new Map<string, ReturnType<typeof setTimeout>>();
/**
 * A customer wrote in a conversation the agent is not looking at: its unread count is read from
 * the API (this user's, past their read marker) rather than counted here, since the page's own
 * reads and the event can overlap and a message would be counted twice.
 */
export function countUnread(conversationId: string): void {
  if (!conversations.value.some((c) => c.id === conversationId)) return;
  clearTimeout(unreadTimers.get(conversationId));
  unreadTimers.set(
    conversationId,
    setTimeout(() => {
      unreadTimers.delete(conversationId);
      fetchUnread(conversationId);
    }, 150),
  );
}

export function markSeen(conversationId: string): void {
  seenTimes.set(conversationId, (seenTimes.get(conversationId) ?? 0) + 1);
  conversations.value = conversations.value.map((c) => (c.id === conversationId && c.unread_count ? { ...c, unread_count: 0 } : c));
}

export function currentFilters(): Filters {
  return filters;
}
