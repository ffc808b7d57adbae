import EventSource from 'eventsource';
import { secretBoxFrom } from '../../src/config';
import { EVENT_TYPES, inboxEventSchema, type InboxEvent } from '../../src/inbox/schemas';
import { silentLogger } from '../../src/log';
import { startApi } from '../../src/processes';
import { TelegramFake } from '../../src/sandbox/telegram';
import { accountWithAdmin, invite, Session } from '../helpers/agents';
import { eventually, fakeBotToken, Stack, startStack } from '../helpers/stack';

/** GET /api/events as browsers and integrations hold it: real EventSource clients, real api processes. */
let telegram: TelegramFake;
let stack: Stack;
const open: EventSource[] = [];

beforeAll(async () => {
  telegram = await TelegramFake.start({ allowHttpWebhooks: true });
  stack = await startStack({ TELEGRAM_API_BASE_URL: telegram.baseUrl });
});
afterAll(async () => {
  for (const es of open) es.close();
  await stack?.stop();
  await telegram?.stop();
});

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

test('a Last-Event-ID no longer kept (or never the account\'s) gets one reset; a malformed one is a 400', async () => {
  const { admin } = await accountWithAdmin(stack);
  const stranger = await accountWithAdmin(stack);
  const probe = listen(stack.url, asUser(admin));
  await probe.opened;
  await admin.call('POST', '/api/channels', { json: { type: 'webchat', config: {} } });
  const event = await probe.waitFor((e) => e.type === 'channel.created');
  probe.close();

  const foreign = listen(stack.url, { ...asUser(stranger.admin), 'Last-Event-ID': event.id });
  await eventually(async () => foreign.resets.length === 1 || undefined, 20_000, 'reset for a foreign id');
  foreign.close();

  await stack.db('events').where({ id: event.id }).delete();
  const pruned = listen(stack.url, { ...asUser(admin), 'Last-Event-ID': event.id });
  await eventually(async () => pruned.resets.length === 1 || undefined, 20_000, 'reset for a pruned id');
  expect(JSON.parse(pruned.resets[0])).toEqual({ reason: expect.stringContaining('reload') });
  pruned.close();

  const ac = new AbortController();
  const bad = await fetch(`${stack.url}/api/events`, { headers: { ...asUser(admin), 'last-event-id': 'abc' }, signal: ac.signal });
  expect(bad.status).toBe(400);
  expect((await bad.json()).error.code).toBe('invalid_last_event_id');
  const ok = await fetch(`${stack.url}/api/events`, { headers: asUser(admin), signal: ac.signal });
  expect(ok.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  expect(ok.headers.get('x-accel-buffering')).toBe('no');
  ac.abort();
});
