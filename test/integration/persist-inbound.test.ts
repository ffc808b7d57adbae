/**
 * persistInbound against the real PostgreSQL: what the inbox shows after a batch
 * is stored, redelivered, stored for a resolved conversation, or arrives for a
 * channel that was deactivated meanwhile.
 */
import { randomUUID } from 'node:crypto';
import { makePersistInbound, PersistInboundInput } from '../../activities/messages';
import type { InboundMessage } from '../../src/channels/types';
import { createAccount } from '../../src/db/accounts';
import { insertChannel } from '../../src/db/channels';
import { createDb, Db } from '../../src/db/knex';

let db: Db;
let persist: ReturnType<typeof makePersistInbound>;

beforeAll(() => {
  db = createDb(process.env.TEST_DATABASE_URL!, { max: 4 });
  persist = makePersistInbound(db);
});
afterAll(() => db.destroy());

async function newChannel() {
  const { account } = await createAccount(db, { name: 'persist', plan: 'pro' });
  const channel = await insertChannel(db, {
    accountId: account.id,
    type: 'telegram',
    name: 'bot',
    config: {},
    status: 'connected',
    statusMessage: null,
  });
  return { accountId: account.id as string, channelId: channel.id };
}

function message(id: string, extra: Partial<InboundMessage> = {}): InboundMessage {
  return {
    platformMessageId: id,
    threadKey: 'chat-1',
    contact: { platformUserId: 'user-1', name: 'Ada', username: 'ada' },
    content: `text ${id}`,
    contentType: 'text',
    attachments: [],
    metadata: { update_id: id },
    ...extra,
  };
}

function input(ch: { accountId: string; channelId: string }, messages: InboundMessage[], threadKey = 'chat-1'): PersistInboundInput {
  return { ...ch, channelType: 'telegram', threadKey, workflowId: `conversation/telegram/${ch.channelId}/${threadKey}`, messages };
}

const inboxRow = (channelId: string, threadKey = 'chat-1') =>
  db('conversations as c').join('contacts as k', 'k.id', 'c.contact_id').where({ 'c.channel_id': channelId, 'c.thread_key': threadKey })
    .first('c.id', 'c.status', 'c.last_message_at', 'c.channel_type', 'c.workflow_id', 'k.name', 'k.username');
const messagesOf = (conversationId: string) =>
  db('messages').where({ conversation_id: conversationId }).orderBy('seq').select('platform_message_id', 'content', 'attachments', 'metadata', 'status', 'platform_timestamp', 'direction');

test('a first batch creates the contact and the conversation and stores every message in the order given', async () => {
  const ch = await newChannel();
  const result = await persist(
    input(ch, [
      message('3', { platformTimestamp: '2026-11-25T10:00:00.000Z' }),
      message('1', { attachments: [{ kind: 'image', platformFileId: 'f1' }] as any }),
      message('2', { sender: { platformUserId: 'user-1', name: 'Ada' } } as any),
    ]),
  );
  expect(result).toMatchObject({ stored: 3, duplicates: 0 });
  expect(result.lastMessageAt).toEqual(expect.any(String));
  const conv = await inboxRow(ch.channelId);
  expect(conv).toMatchObject({ id: result.conversationId, status: 'open', channel_type: 'telegram', name: 'Ada', username: 'ada' });
  expect(conv.workflow_id).toBe(`conversation/telegram/${ch.channelId}/chat-1`);
  const rows = await messagesOf(result.conversationId!);
  expect(rows.map((r) => r.platform_message_id)).toEqual(['3', '1', '2']);
  expect(rows[0]).toMatchObject({ direction: 'inbound', status: 'received', content: 'text 3', metadata: { update_id: '3' } });
  expect(new Date(rows[0].platform_timestamp).toISOString()).toBe('2026-11-25T10:00:00.000Z');
  expect(rows[1].attachments).toEqual([{ kind: 'image', platformFileId: 'f1' }]);
  expect(rows[2].metadata).toEqual({ update_id: '2', sender: { platformUserId: 'user-1', name: 'Ada' } });
});

test('a redelivered batch stores nothing and neither bumps nor reopens the conversation', async () => {
  const ch = await newChannel();
  const first = await persist(input(ch, [message('1'), message('2')]));
  await db('conversations').where({ id: first.conversationId }).update({ status: 'resolved', last_message_at: new Date('2026-01-01T00:00:00Z') });

  const again = await persist(input(ch, [message('1'), message('2')]));
  expect(again).toEqual({ conversationId: first.conversationId, stored: 0, duplicates: 2 });
  const conv = await inboxRow(ch.channelId);
  expect(conv.status).toBe('resolved');
  expect(new Date(conv.last_message_at).toISOString()).toBe('2026-01-01T00:00:00.000Z');
  expect(await messagesOf(first.conversationId!)).toHaveLength(2);
});

test('a new message reopens a resolved conversation; duplicates in the same batch are dropped', async () => {
  const ch = await newChannel();
  const first = await persist(input(ch, [message('1')]));
  await db('conversations').where({ id: first.conversationId }).update({ status: 'resolved', last_message_at: new Date('2026-01-01T00:00:00Z') });

  const next = await persist(input(ch, [message('1'), message('2'), message('2')]));
  expect(next).toMatchObject({ conversationId: first.conversationId, stored: 1, duplicates: 2 });
  const conv = await inboxRow(ch.channelId);
  expect(conv.status).toBe('open');
  expect(new Date(conv.last_message_at).toISOString()).toBe(next.lastMessageAt);
  expect(new Date(conv.last_message_at).getTime()).toBeGreaterThan(new Date('2026-01-01T00:00:00Z').getTime());
  expect((await messagesOf(first.conversationId!)).map((r) => r.platform_message_id)).toEqual(['1', '2']);
});

test('a customer renaming themselves shows up; a payload without a name keeps the old one', async () => {
  const ch = await newChannel();
  await persist(input(ch, [message('1')]));
  await persist(input(ch, [message('2', { contact: { platformUserId: 'user-1', name: 'Ada L.' } })]));
  expect(await inboxRow(ch.channelId)).toMatchObject({ name: 'Ada L.', username: 'ada' });
  await persist(input(ch, [message('3', { contact: { platformUserId: 'user-1' } })]));
  expect(await inboxRow(ch.channelId)).toMatchObject({ name: 'Ada L.', username: 'ada' });
});

test('a deactivated channel routes nothing into the inbox and keeps the messages aside, once', async () => {
  const ch = await newChannel();
  await db('channels').where({ id: ch.channelId }).update({ is_active: false });
  const batch = [message('1'), message('2')];
  expect(await persist(input(ch, batch))).toEqual({ conversationId: null, stored: 0, duplicates: 0, ignored: 'channel_inactive' });
  await persist(input(ch, batch));
  expect(await inboxRow(ch.channelId)).toBeUndefined();
  const ignored = await db('ignored_events').where({ channel_id: ch.channelId }).orderBy('platform_event_id').select('reason', 'platform_event_id');
  expect(ignored).toEqual([
    { reason: 'channel_inactive', platform_event_id: '1' },
    { reason: 'channel_inactive', platform_event_id: '2' },
  ]);
});

test('a NUL character from the platform is stored as U+FFFD instead of failing the batch on every retry', async () => {
  const ch = await newChannel();
  const result = await persist(
    input(ch, [message('1', { content: 'a\u0000b', metadata: { note: 'x\u0000' }, contact: { platformUserId: 'user-1', name: 'A\u0000da' } })]),
  );
  expect(result.stored).toBe(1);
  const [row] = await messagesOf(result.conversationId!);
  expect(row.content).toBe('a\uFFFDb');
  expect(row.metadata).toEqual({ note: 'x\uFFFD' });
  expect((await inboxRow(ch.channelId)).name).toBe('A\uFFFDda');
});

test('half of a surrogate pair (an emoji cut in two) is stored as U+FFFD instead of failing the batch', async () => {
  const ch = await newChannel();
  const result = await persist(input(ch, [message('1', { content: 'cut \ud83d', metadata: { ['k\udc00']: 'v' } })]));
  expect(result.stored).toBe(1);
  const [row] = await messagesOf(result.conversationId!);
  expect(row.content).toBe('cut \uFFFD');
  expect(row.metadata).toEqual({ ['k\uFFFD']: 'v' });
});

test('a NUL character in a message for a deactivated channel is kept aside too, not retried forever', async () => {
  const ch = await newChannel();
  await db('channels').where({ id: ch.channelId }).update({ is_active: false });
  const result = await persist(input(ch, [message('n\u00001', { content: 'a\u0000b' })]));
  expect(result.ignored).toBe('channel_inactive');
  const [ignored] = await db('ignored_events').where({ channel_id: ch.channelId }).select('platform_event_id', 'payload');
  expect(ignored.platform_event_id).toBe('n\uFFFD1');
  expect(ignored.payload.content).toBe('a\uFFFDb');
});

test('a channel that no longer exists stores nothing', async () => {
  const ch = { accountId: (await newChannel()).accountId, channelId: randomUUID() };
  expect(await persist(input(ch, [message('1')]))).toEqual({ conversationId: null, stored: 0, duplicates: 1, ignored: 'channel_not_found' });
});
