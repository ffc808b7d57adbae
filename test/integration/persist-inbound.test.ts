/**
 * persistInbound against the real PostgreSQL: what the inbox shows after a batch
 * is stored, redelivered, stored for a resolved conversation, or arrives for a
 * channel that was deactivated meanwhile.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { makePersistInbound, PersistInboundInput, storeStatement } from '../../activities/messages';
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
    id: randomUUID(),
    webhookSecret: 's',
    verifyToken: 'v',
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

test('a message whose sender is unchanged writes no new version of the contact; a rename does', async () => {
  const ch = await newChannel();
  const contact = () => db('contacts').where({ channel_id: ch.channelId, platform_user_id: 'user-1' }).first(db.raw('xmin::text AS version'), 'name');
  await persist(input(ch, [message('1')]));
  const created = await contact();
  await persist(input(ch, [message('2'), message('3', { contact: { platformUserId: 'user-1' } })]));
  expect(await contact()).toEqual(created);

  await persist(input(ch, [message('4', { contact: { platformUserId: 'user-1', name: 'Ada L.', username: 'ada' } })]));
  const renamed = await contact();
  expect(renamed.name).toBe('Ada L.');
  expect(renamed.version).not.toBe(created.version);
});

test("a sender's first messages in two conversations at once: the one that loses the race retries, nothing is lost", async () => {
  const ch = await newChannel();
  // Another conversation of the same sender creates the contact and has not committed yet.
  const other = new Client({ connectionString: process.env.TEST_DATABASE_URL });
  await other.connect();
  try {
    const { rows: [{ pid }] } = await other.query('SELECT pg_backend_pid() AS pid');
    await other.query('BEGIN');
    await other.query(`INSERT INTO contacts (channel_id, platform_user_id, name, username) VALUES ($1, 'user-1', 'Ada', 'ada')`, [ch.channelId]);
    const first = persist(input(ch, [message('1')], 'thread-2'));
    // The store waits on the uncommitted row; once it commits, the row is outside its snapshot.
    await waitUntilBlockedBy(pid);
    // Expected before the commit: the store can fail before COMMIT's own answer arrives, and a
    // rejection with no handler by then fails the test as unhandled.
    const firstFails = expect(first).rejects.toThrow(/created by a concurrent statement; retrying/);
    await other.query('COMMIT');
    await firstFails;
  } finally {
    await other.end();
  }
  expect(await inboxRow(ch.channelId, 'thread-2')).toBeUndefined();
  const retried = await persist(input(ch, [message('1')], 'thread-2'));
  expect(retried).toMatchObject({ stored: 1, duplicates: 0 });
  expect(await inboxRow(ch.channelId, 'thread-2')).toMatchObject({ name: 'Ada', username: 'ada' });
});

/** Waits until some statement waits on a lock the given backend holds. */
async function waitUntilBlockedBy(backendPid: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const { rows } = await db.raw('SELECT 1 FROM pg_stat_activity WHERE ? = ANY (pg_blocking_pids(pid))', [backendPid]);
    if (rows.length > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`nothing waited on backend ${backendPid}`);
}

test('storing into a long conversation reads only the rows of the batch, however many messages it holds', async () => {
  const ch = await newChannel();
  const first = await persist(input(ch, [message('0')]));
  await db.raw(
    `INSERT INTO messages (conversation_id, direction, platform_message_id, content, status)
     SELECT ?, 'inbound', 'old-' || n, 'earlier', 'received' FROM generate_series(1, 3000) AS n`,
    [first.conversationId],
  );
  await db.raw('ANALYZE messages');
  // New messages: checking them for duplicates finds no row and reads none. A redelivery: one each.
  expect(await messageRowsRead(input(ch, [message('new-1'), message('new-2')]))).toEqual({ custom: 0, generic: 0 });
  expect(await messageRowsRead(input(ch, [message('old-7'), message('old-2999')]))).toEqual({ custom: 2, generic: 2 });
});

/**
 * Rows of `messages` the store statement reads for this batch, as EXPLAIN ANALYZE counts them (in a
 * transaction rolled back), with a plan made for the values and with the generic plan a pooled
 * connection may keep from its sixth run on.
 */
async function messageRowsRead(batch: PersistInboundInput): Promise<{ custom: number; generic: number }> {
  const statement = storeStatement(batch);
  const args = statement.values.map((v) => (v === null ? 'NULL' : `'${String(v).replace(/'/g, "''")}'`)).join(', ');
  const read = async (mode: string) => {
    const client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL plan_cache_mode = ${mode}`);
      await client.query(`PREPARE store_plan AS ${statement.text}`);
      const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE store_plan(${args})`);
      await client.query('ROLLBACK');
      return rowsReadFrom(rows[0]['QUERY PLAN'][0].Plan, 'messages');
    } finally {
      await client.end();
    }
  };
  return { custom: await read('force_custom_plan'), generic: await read('force_generic_plan') };
}

/** Rows that scans of a table returned or filtered out, over every loop, in an EXPLAIN ANALYZE plan. */
function rowsReadFrom(node: any, table: string): number {
  const perLoop = (node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0);
  const own = /Scan/.test(node['Node Type']) && node['Relation Name'] === table ? perLoop * node['Actual Loops'] : 0;
  return own + (node.Plans ?? []).reduce((sum: number, child: any) => sum + rowsReadFrom(child, table), 0);
}

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

test('a message PostgreSQL refuses for what it holds is set aside with the reason; the rest of its batch is stored, in order, and so is what comes after', async () => {
  const ch = await newChannel();
  // Over the 2.7 KB an index row can hold, even compressed (54000), and a time PostgreSQL cannot read (22008): refused on every try.
  const tooLong = message(randomBytes(4500).toString('base64'));
  const badTime = message('m-bad-time', { platformTimestamp: '2026-13-45T00:00:00Z' });
  const result = await persist(input(ch, [message('m1'), tooLong, message('m2'), badTime, message('m3')]));
  expect(result).toMatchObject({ stored: 3, duplicates: 0, conversationId: expect.any(String) });
  expect(result.setAside).toEqual([
    { platformMessageId: tooLong.platformMessageId.slice(0, 200), problem: expect.stringMatching(/^54000: index row/) },
    { platformMessageId: 'm-bad-time', problem: expect.stringMatching(/^22008: /) },
  ]);
  expect((await messagesOf(result.conversationId!)).map((m) => m.platform_message_id)).toEqual(['m1', 'm2', 'm3']);
  const aside = await db('ignored_events').where({ channel_id: ch.channelId, reason: 'unstorable' }).orderBy('platform_event_id');
  expect(aside).toHaveLength(2);
  for (const row of aside) {
    expect(row.platform_event_id).toMatch(/^unstorable:[0-9a-f]{40}$/);
    expect(row.payload).toMatchObject({ problem: expect.any(String), thread_key: 'chat-1', message: { contact: { platformUserId: 'user-1' } } });
  }
  // Again (a retry, a redelivery): nothing stored twice, nothing set aside twice.
  const again = await persist(input(ch, [message('m1'), tooLong, message('m2'), badTime, message('m3')]));
  expect(again).toMatchObject({ stored: 0, duplicates: 3 });
  expect(await db('ignored_events').where({ channel_id: ch.channelId, reason: 'unstorable' }).count({ n: '*' }).first()).toEqual({ n: '2' });
  expect((await persist(input(ch, [message('m4')]))).stored).toBe(1);
});

test('an outage is not a data error: it is thrown, to be retried, and nothing is set aside', async () => {
  const ch = await newChannel();
  const down = createDb('postgres://nobody@127.0.0.1:1/none', { max: 1 });
  try {
    await expect(makePersistInbound(down)(input(ch, [message('m1')]))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  } finally {
    await down.destroy();
  }
  expect(await db('ignored_events').where({ channel_id: ch.channelId })).toEqual([]);
});

test('the same unstorable id in two conversations of a channel is set aside twice', async () => {
  const ch = await newChannel();
  const id = randomBytes(4500).toString('base64');
  for (const thread of ['chat-A', 'chat-B']) {
    const r = await persist(input(ch, [message(id, { threadKey: thread })], thread));
    expect(r.setAside).toHaveLength(1);
  }
  const rows = await db('ignored_events').where({ channel_id: ch.channelId, reason: 'unstorable' }).select('payload');
  expect(rows.map((r) => r.payload.thread_key).sort()).toEqual(['chat-A', 'chat-B']);
});
