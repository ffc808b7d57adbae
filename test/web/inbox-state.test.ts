import { beforeEach, describe, expect, test, vi } from 'vitest';
import type { ConversationItem } from '../../web/src/api/types';
import { applyConversation, conversations, countUnread, DEFAULT_FILTERS, filtersFrom, filtersQuery, loadInbox, markSeen } from '../../web/src/state/inbox';

const item = (id: string, over: Partial<ConversationItem> = {}): ConversationItem =>
  ({
    id,
    channel: { id: 'c1', type: 'telegram', name: 'Bot' },
    channel_id: 'c1',
    channel_type: 'telegram',
    contact: { id: `k${id}`, name: id, handle: id, platform_user_id: id, username: null },
    status: 'open',
    snoozed_until: null,
    assignee: null,
    last_message: null,
    unread_count: 0,
    can_reply: true,
    reply_blocked_reason: null,
    last_message_at: '2026-12-04T10:00:00.000Z',
    created_at: '2026-12-04T10:00:00.000Z',
    updated_at: '2026-12-04T10:00:00.000Z',
    workflow_id: `w${id}`,
    ...over,
  }) as ConversationItem;

describe('filters live in the URL', () => {
  test('what the URL says, with anything unknown back to the default', () => {
    expect(filtersFrom({ tab: 'mine', status: 'snoozed', type: 'telegram', q: 'refund' })).toEqual({ tab: 'mine', status: 'snoozed', type: 'telegram', channel: '', q: 'refund' });
    expect(filtersFrom({ tab: 'everyone', status: 'closed', type: 'fax', channel: "x' or 1=1" })).toEqual(DEFAULT_FILTERS);
    const f = { tab: 'unassigned' as const, status: 'all' as const, type: 'email' as const, channel: '', q: 'a b' };
    expect(filtersFrom(Object.fromEntries(new URLSearchParams(filtersQuery(f))))).toEqual(f);
    expect(filtersQuery(DEFAULT_FILTERS)).toBe('');
  });
});

describe('live snapshots', () => {
  beforeEach(async () => {
    vi.stubGlobal('fetch', vi.fn(async (url: string) => new Response(JSON.stringify(url.includes('counts') ? {} : { data: [item('a', { last_message_at: '2026-12-04T09:00:00.000Z' })], next_cursor: null }))));
    await loadInbox(DEFAULT_FILTERS);
  });

  test('a newer conversation goes to the top; an older snapshot of one changes nothing', () => {
    applyConversation(item('b', { last_message_at: '2026-12-04T11:00:00.000Z', updated_at: '2026-12-04T11:00:00.000Z' }));
    expect(conversations.value.map((c) => c.id)).toEqual(['b', 'a']);
    applyConversation(item('b', { last_message_at: '2026-12-04T08:00:00.000Z', updated_at: '2026-12-04T10:30:00.000Z' }));
    expect(conversations.value.map((c) => c.id)).toEqual(['b', 'a']);
  });

  test('one that no longer fits the view leaves it; the unread count on screen is kept', () => {
    conversations.value = conversations.value.map((c) => ({ ...c, unread_count: 2 }));
    applyConversation(item('a', { updated_at: '2026-12-04T12:00:00.000Z', unread_count: null, last_message_at: '2026-12-04T12:00:00.000Z' }));
    expect(conversations.value[0].unread_count).toBe(2);
    applyConversation(item('a', { status: 'resolved', updated_at: '2026-12-04T12:01:00.000Z' }));
    expect(conversations.value).toEqual([]);
  });
});

describe('unread counts', () => {
  test('an answer asked for before the agent saw the conversation does not bring its badge back', async () => {
    let answer: (r: Response) => void = () => undefined;
    vi.stubGlobal('fetch', vi.fn((url: string) => {
      if (url.includes('/api/conversations/a')) return new Promise<Response>((resolve) => (answer = resolve));
      return Promise.resolve(new Response(JSON.stringify(url.includes('counts') ? {} : { data: [item('a')], next_cursor: null })));
    }));
    await loadInbox(DEFAULT_FILTERS);
    vi.useFakeTimers();
    countUnread('a');
    vi.advanceTimersByTime(200);
    vi.useRealTimers();
    markSeen('a');
    answer(new Response(JSON.stringify(item('a', { unread_count: 1 }))));
    await new Promise((r) => setTimeout(r, 10));
    expect(conversations.value[0].unread_count).toBe(0);
  });
});
