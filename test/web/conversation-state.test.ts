import { beforeEach, describe, expect, test, vi } from 'vitest';
import type { TimelineEntry } from '../../web/src/api/types';
import { applyEntry, olderCursor, openConversation, send, timeline } from '../../web/src/state/conversation';

const CONV = '00000000-0000-4000-8000-000000000001';
const at = (s: number) => `2026-12-04T10:00:${String(s).padStart(2, '0')}.000Z`;
const note = (id: string, seq: number, content: string, over: Partial<TimelineEntry> = {}) =>
  ({ id, conversation_id: CONV, seq, created_at: at(seq), updated_at: at(seq), kind: 'note', content, author: null, client_id: null, ...over }) as TimelineEntry;

let posted: Array<{ url: string; body: any }>;
let answer: (body: any) => Response;

beforeEach(async () => {
  posted = [];
  answer = () => new Response('{}');
  vi.stubGlobal('fetch', vi.fn(async (url: string, init?: RequestInit) => {
    if (init?.method === 'POST') {
      const body = JSON.parse(String(init.body));
      posted.push({ url, body });
      return answer(body);
    }
    if (url.includes('/messages')) return new Response(JSON.stringify({ data: [note('n2', 2, 'two'), note('n1', 1, 'one')], next_cursor: null }));
    return new Response(JSON.stringify({ id: CONV, updated_at: at(0), unread_count: 0 }));
  }));
  await openConversation(CONV);
});

describe('the open conversation', () => {
  test('entries are shown in timeline order whatever order they arrive in; a newer snapshot wins, an older one does not', () => {
    expect(timeline.value.map((e) => e.id)).toEqual(['n1', 'n2']);
    applyEntry(note('n4', 4, 'four'), true);
    applyEntry(note('n3', 3, 'three'), true);
    expect(timeline.value.map((e) => e.id)).toEqual(['n1', 'n2', 'n3', 'n4']);
    applyEntry(note('n3', 3, 'three, edited', { updated_at: at(30) }), false);
    applyEntry(note('n3', 3, 'three, stale', { updated_at: at(20) }), false);
    expect(timeline.value.find((e) => e.id === 'n3')!.kind === 'note' && (timeline.value.find((e) => e.id === 'n3') as any).content).toBe('three, edited');
    // With older pages not loaded yet, an update of an entry above the loaded ones does not drop into it.
    olderCursor.value = 'older pages';
    applyEntry(note('n0', 0, 'older'), false);
    expect(timeline.value.map((e) => e.id)).not.toContain('n0');
  });

  test("a note shows at once, and the server's copy (with the same client id) replaces it; a failure stays with a retry that sends the same id", async () => {
    answer = (body) => new Response(JSON.stringify(note('n9', 9, body.content, { client_id: body.client_id })), { status: 201 });
    const sending = send('note', 'hello');
    expect(timeline.value.at(-1)).toMatchObject({ kind: 'note', content: 'hello', sending: 'sending' });
    await sending;
    expect(timeline.value.filter((e) => (e as any).content === 'hello').map((e) => e.id)).toEqual(['n9']);

    answer = () => new Response(JSON.stringify({ error: { code: 'x', message: 'PingBack is down' } }), { status: 503 });
    await send('note', 'again');
    const failed = timeline.value.at(-1)!;
    expect(failed).toMatchObject({ content: 'again', sending: 'failed', sendError: 'PingBack is down' });
    const { retrySend } = await import('../../web/src/state/conversation');
    answer = (body) => new Response(JSON.stringify(note('n10', 10, body.content, { client_id: body.client_id })), { status: 201 });
    await retrySend(failed);
    expect(posted.at(-1)!.body.client_id).toBe(posted.at(-2)!.body.client_id);
    expect(timeline.value.filter((e) => (e as any).content === 'again').map((e) => e.id)).toEqual(['n10']);
  });
});

describe('what the stream brings while the conversation is being read', () => {
  test('an update that arrives before the first page answers is kept, and a refresh keeps what arrived during it', async () => {
    let answer: (r: Response) => void = () => undefined;
    vi.stubGlobal('fetch', vi.fn((url: string) => {
      if (url.includes('/messages')) return new Promise<Response>((resolve) => (answer = resolve));
      return Promise.resolve(new Response(JSON.stringify({ id: CONV, updated_at: at(0), unread_count: 0 })));
    }));
    const opening = openConversation(CONV);
    applyEntry(note('n1', 1, 'edited by the stream', { updated_at: at(50) }), false);
    answer(new Response(JSON.stringify({ data: [note('n1', 1, 'as first read')], next_cursor: null })));
    await opening;
    expect((timeline.value[0] as any).content).toBe('edited by the stream');

    const refreshing = openConversation(CONV, { refresh: true });
    applyEntry(note('n2', 2, 'arrived during the refresh'), true);
    answer(new Response(JSON.stringify({ data: [note('n1', 1, 'as first read')], next_cursor: null })));
    await refreshing;
    expect(timeline.value.map((e) => e.id)).toEqual(['n1', 'n2']);
  });
});
