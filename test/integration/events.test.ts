import EventSource from 'eventsource';
import { Client } from 'pg';
import { secretBoxFrom } from '../../src/config';
import { EVENT_TYPES, inboxEventSchema, type InboxEvent } from '../../src/inbox/schemas';
import { silentLogger } from '../../src/log';
import { startApi } from '../../src/processes';
import { TelegramFake } from '../../src/sandbox/telegram';
import { accountWithAdmin, invite, Session } from '../helpers/agents';
import { eventually, fakeBotToken, Stack, stackWithFake } from '../helpers/stack';

/** GET /api/events as browsers and integrations hold it: real EventSource clients, real api processes. */
let telegram: TelegramFake;
let stack: Stack;
const open: EventSource[] = [];
afterAll(() => {
  for (const es of open) es.close();
});
stackWithFake(
  () => TelegramFake.start({ allowHttpWebhooks: true }),
  (fake) => ({ TELEGRAM_API_BASE_URL: fake.baseUrl }),
  (s, fake) => ((stack = s), (telegram = fake)),
);

/** An EventSource that keeps every event it got, in order (and `reset`s apart). */
function listen(url: string, headers: Record<string, string>) {
  const events: InboxEvent[] = [];
  const resets: string[] = [];
  const es = new EventSource(`${url}/api/events`, { headers });
  open.push(es);
  for (const type of EVENT_TYPES) es.addEventListener(type, (m) => void events.push(inboxEventSchema.parse(JSON.parse((m as MessageEvent).data))));
  es.addEventListener('reset', (m) => void resets.push((m as MessageEvent).data));
  const opened = new Promise<void>((resolve) => (es.onopen = () => resolve()));
  return {
    es,
    events,
    resets,
    opened,
    waitFor: (pred: (e: InboxEvent) => boolean, what = 'an event') => eventually(async () => events.find(pred), 20_000, what),
    close: () => es.close(),
  };
}
const asUser = (s: Session) => ({ cookie: s.cookie });
const asKey = (apiKey: string) => ({ authorization: `Bearer ${apiKey}` });

async function telegramChannel(admin: Session) {
  const bot = fakeBotToken();
  const ch = await admin.call('POST', '/api/channels', { json: { type: 'telegram', config: { bot_token: bot } } });
  await eventually(async () => (await admin.call('GET', `/api/channels/${ch.body.id}`)).body.status === 'connected', 30_000, 'connected');
  return { bot, channelId: ch.body.id as string };
}

test('a customer message from the Telegram sandbox reaches every open stream of the account, and no other', async () => {
  const { admin, apiKey } = await accountWithAdmin(stack);
  const agent = await invite(stack, admin);
  const stranger = await accountWithAdmin(stack);
  const { bot, channelId } = await telegramChannel(admin);
  const dashboard = listen(stack.url, asUser(agent));
  const integration = listen(stack.url, asKey(apiKey));
  const elsewhere = listen(stack.url, asUser(stranger.admin));
  await Promise.all([dashboard.opened, integration.opened, elsewhere.opened]);

  await telegram.customerSends(bot, { chatId: 424242, firstName: 'Kim', text: 'Is my order on its way?' });
  for (const client of [dashboard, integration]) {
    const created = await client.waitFor((e) => e.type === 'conversation.created', 'conversation.created');
    expect(created.data).toMatchObject({ channel: { id: channelId, type: 'telegram' }, contact: { name: 'Kim' }, status: 'open' });
    const message = await client.waitFor((e) => e.type === 'message.created', 'message.created');
    expect(message.data).toMatchObject({ kind: 'customer_message', content: 'Is my order on its way?', conversation_id: created.data.id });
  }
  // The stream carries each object's snapshot: the conversation with its last message.
  const updated = await dashboard.waitFor((e) => e.type === 'conversation.updated' || (e.type === 'conversation.created' && e.data.last_message !== null));
  expect((updated.data as any).last_message).toMatchObject({ direction: 'inbound', preview: 'Is my order on its way?' });
  // The channel's own events arrived too; another account's stream saw nothing of it.
  await new Promise((r) => setTimeout(r, 300));
  expect(elsewhere.events).toEqual([]);
  for (const c of [dashboard, integration, elsewhere]) c.close();
});

test('a reply moves pending → sent on the stream, and a note is an event but never a message to the platform', async () => {
  const { admin } = await accountWithAdmin(stack);
  const { bot } = await telegramChannel(admin);
  await telegram.customerSends(bot, { chatId: 515151, firstName: 'Lou', text: 'Hi' });
  const conv = await eventually(async () => (await admin.call('GET', '/api/conversations')).body.data[0], 20_000, 'the conversation');
  const stream = listen(stack.url, asUser(admin));
  await stream.opened;
  const reply = await admin.call('POST', `/api/conversations/${conv.id}/messages`, { json: { content: 'Hello Lou' } });
  await admin.call('POST', `/api/conversations/${conv.id}/notes`, { json: { content: 'VIP customer' } });
  await stream.waitFor((e) => e.type === 'message.updated' && e.data.id === reply.body.id && (e.data as any).status === 'sent', 'the reply sent');
  const note = await stream.waitFor((e) => e.type === 'message.created' && e.data.kind === 'note', 'the note');
  expect(note.data).toMatchObject({ content: 'VIP customer', author: { type: 'user', name: 'Ada Admin' } });
  expect(telegram.sentMessages(bot).map((m) => m.text)).toEqual(['Hello Lou']);
  stream.close();
});

test('a client that missed three events gets exactly those three, in order, when it reconnects with Last-Event-ID', async () => {
  const { admin } = await accountWithAdmin(stack);
  const { bot } = await telegramChannel(admin);
  await telegram.customerSends(bot, { chatId: 616161, firstName: 'Max', text: 'Hello' });
  const conv = await eventually(async () => (await admin.call('GET', '/api/conversations')).body.data[0], 20_000, 'the conversation');
  const first = listen(stack.url, asUser(admin));
  await first.opened;
  await admin.call('POST', `/api/conversations/${conv.id}/notes`, { json: { content: 'note 0' } });
  const seen = await first.waitFor((e) => e.type === 'message.created' && (e.data as any).content === 'note 0');
  first.close();

  for (const n of [1, 2, 3]) await admin.call('POST', `/api/conversations/${conv.id}/notes`, { json: { content: `note ${n}` } });
  const again = listen(stack.url, { ...asUser(admin), 'Last-Event-ID': seen.id });
  await again.opened;
  await eventually(async () => again.events.length >= 3 || undefined, 20_000, 'three events');
  await new Promise((r) => setTimeout(r, 300));
  expect(again.events.map((e) => (e.data as any).content)).toEqual(['note 1', 'note 2', 'note 3']);
  // And then it is live.
  await admin.call('POST', `/api/conversations/${conv.id}/notes`, { json: { content: 'note 4' } });
  await again.waitFor((e) => (e.data as any).content === 'note 4');
  expect(again.events.map((e) => (e.data as any).content)).toEqual(['note 1', 'note 2', 'note 3', 'note 4']);
  again.close();
});

test('an event whose transaction commits late is not passed over, and another transaction, however long, holds nothing up', async () => {
  const { admin } = await accountWithAdmin(stack);
  const other = await accountWithAdmin(stack);
  const stream = listen(stack.url, asUser(admin));
  const otherStream = listen(stack.url, asUser(other.admin));
  await Promise.all([stream.opened, otherStream.opened]);
  const names = (l: typeof stream) => l.events.filter((e) => e.type === 'channel.created').map((e) => (e.data as any).name);
  // A writer (here in another account) takes an event id and commits later; meanwhile a later id commits.
  const late = new Client({ connectionString: stack.config.DATABASE_URL });
  // Someone's long transaction, in another database of the same server.
  const elsewhere = new Client({ connectionString: new URL('/postgres', stack.config.DATABASE_URL).toString() });
  await Promise.all([late.connect(), elsewhere.connect()]);
  try {
    await elsewhere.query('BEGIN');
    await elsewhere.query('SELECT pg_current_xact_id()');
    await late.query('BEGIN');
    await late.query("INSERT INTO channels (account_id, type, name, webhook_secret, verify_token) VALUES ($1, 'webchat', 'committed late', 's', 'v')", [other.accountId]);
    await admin.call('POST', '/api/channels', { json: { type: 'webchat', name: 'committed first', config: {} } });
    // The hub cannot know the missing id is another account's: it waits for its writer.
    await new Promise((r) => setTimeout(r, 700));
    expect(names(stream)).toEqual([]);
    await late.query('COMMIT');
    // Generous: on a loaded host the hub's wait for the late writer's transaction to end can take a while.
    await eventually(async () => names(stream).length === 1 && names(otherStream).length === 1, 30_000, 'both channels');
    expect(names(stream)).toEqual(['committed first']);
    expect(names(otherStream)).toEqual(['committed late']);
  } finally {
    await late.query('ROLLBACK').catch(() => undefined);
    await late.end();
    await elsewhere.query('ROLLBACK').catch(() => undefined);
    await elsewhere.end();
    stream.close();
    otherStream.close();
  }
});

test('a stream ends when its session does: the user disabled, or signed out elsewhere', async () => {
  const { admin } = await accountWithAdmin(stack);
  const agent = await invite(stack, admin);
  const stream = listen(stack.url, asUser(agent));
  await stream.opened;
  const ended = new Promise<void>((resolve) => (stream.es.onerror = () => resolve()));
  await admin.call('PATCH', `/api/users/${agent.userId}`, { json: { disabled: true } });
  await ended;
  stream.close();
  // Nothing of the account reaches it afterwards, reconnecting or not.
  const again = await fetch(`${stack.url}/api/events`, { headers: asUser(agent) });
  expect(again.status).toBe(401);
});

test('a client reconnecting before any event arrived resumes from where its stream began', async () => {
  const { admin } = await accountWithAdmin(stack);
  // The stream's first event, `ready`, carries the position it starts at: EventSource keeps it as its last event id.
  const ac = new AbortController();
  const res = await fetch(`${stack.url}/api/events`, { headers: asUser(admin), signal: ac.signal });
  const reader = res.body!.getReader();
  let head = '';
  while (!head.includes('\n\n')) head += new TextDecoder().decode((await reader.read()).value);
  ac.abort();
  const startedAt = /^id: (\d+)\n/.exec(head)?.[1];
  expect(startedAt).toBeDefined();
  await admin.call('POST', '/api/channels', { json: { type: 'webchat', name: 'while away', config: {} } });
  const again = listen(stack.url, { ...asUser(admin), 'Last-Event-ID': startedAt! });
  const created = await again.waitFor((e) => e.type === 'channel.created');
  expect(created.data).toMatchObject({ name: 'while away' });
  again.close();
});

test('an event written through one api process reaches a stream held by another; stopping an api ends its streams', async () => {
  const { admin } = await accountWithAdmin(stack);
  const other = await startApi({ ...stack.config, PORT: 0 }, silentLogger, { db: stack.db, temporal: stack.temporal, secrets: secretBoxFrom(stack.config) });
  let stopped = false;
  try {
    const onB = listen(other.url, asUser(admin));
    await onB.opened;
    const ch = await admin.call('POST', '/api/channels', { json: { type: 'webchat', name: 'Through A', config: {} } });
    expect(ch.status).toBe(201);
    const created = await onB.waitFor((e) => e.type === 'channel.created', 'channel.created on B');
    expect(created.data).toMatchObject({ id: ch.body.id, type: 'webchat', name: 'Through A' });
    expect(created.data).not.toHaveProperty('config');
    const errored = new Promise<void>((resolve) => (onB.es.onerror = () => resolve()));
    await other.stop();
    stopped = true;
    await errored;
    onB.close();
  } finally {
    if (!stopped) await other.stop();
  }
});

test('a Last-Event-ID whose events were pruned gets one reset; another account\'s position shows none of its events; a malformed one is a 400', async () => {
  const { admin } = await accountWithAdmin(stack);
  const stranger = await accountWithAdmin(stack);
  const probe = listen(stack.url, asUser(admin));
  await probe.opened;
  await admin.call('POST', '/api/channels', { json: { type: 'webchat', name: 'first', config: {} } });
  const event = await probe.waitFor((e) => e.type === 'channel.created');
  await admin.call('PATCH', `/api/channels/${event.data.id}`, { json: { name: 'renamed' } });
  const renamed = await probe.waitFor((e) => e.type === 'channel.updated');
  probe.close();

  // Resuming from the account's position in another account's stream replays only its own events.
  const foreign = listen(stack.url, { ...asUser(stranger.admin), 'Last-Event-ID': event.id });
  await foreign.opened;
  await new Promise((r) => setTimeout(r, 500));
  expect(foreign.events).toEqual([]);
  foreign.close();

  // The sweep pruned up to the rename (what eventsSweep records): resuming from before it would miss it.
  await stack.db.raw('INSERT INTO events_pruned (id) VALUES (?) ON CONFLICT (only_row) DO UPDATE SET id = EXCLUDED.id', [renamed.id]);
  try {
    const pruned = listen(stack.url, { ...asUser(admin), 'Last-Event-ID': event.id });
    await eventually(async () => pruned.resets.length === 1 || undefined, 20_000, 'reset for a pruned position');
    expect(JSON.parse(pruned.resets[0])).toEqual({ reason: expect.stringContaining('reload') });
    pruned.close();
  } finally {
    await stack.db('events_pruned').delete();
  }

  const ac = new AbortController();
  for (const malformed of ['abc', '1-2', '99999999999999999999', '-1']) {
    const bad = await fetch(`${stack.url}/api/events`, { headers: { ...asUser(admin), 'last-event-id': malformed }, signal: ac.signal });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('invalid_last_event_id');
  }
  const ok = await fetch(`${stack.url}/api/events`, { headers: asUser(admin), signal: ac.signal });
  expect(ok.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  expect(ok.headers.get('x-accel-buffering')).toBe('no');
  ac.abort();
});
