import { TelegramFake } from '../../src/sandbox/telegram';
import { accountWithAdmin, invite, Session } from '../helpers/agents';
import { eventually, fakeBotToken, request, Stack, stackWithFake } from '../helpers/stack';

/** The inbox as agents work it: filters, counts, assignment, statuses, snoozes, notes, read state. */
let telegram: TelegramFake;
let stack: Stack;
stackWithFake(
  () => TelegramFake.start({ allowHttpWebhooks: true }),
  (fake) => ({ TELEGRAM_API_BASE_URL: fake.baseUrl }),
  (s, fake) => ((stack = s), (telegram = fake)),
);

interface Team {
  admin: Session;
  agent: Session;
  apiKey: string;
  bot: string;
  telegramChannel: string;
  webchatChannel: string;
}

/** A Pro account with an admin and an agent, a connected Telegram bot and a web chat. */
async function team(): Promise<Team> {
  const { admin, apiKey } = await accountWithAdmin(stack, 'pro');
  const agent = await invite(stack, admin, 'agent', 'Ana Agent');
  const bot = fakeBotToken();
  const tg = await admin.call('POST', '/api/channels', { json: { type: 'telegram', name: 'Support bot', config: { bot_token: bot } } });
  await eventually(async () => (await admin.call('GET', `/api/channels/${tg.body.id}`)).body.status === 'connected', 30_000, 'telegram connected');
  const wc = await admin.call('POST', '/api/channels', { json: { type: 'webchat', name: 'Site chat', config: {} } });
  return { admin, agent, apiKey, bot, telegramChannel: tg.body.id, webchatChannel: wc.body.id };
}

async function customer(t: Team, chatId: number, firstName: string, text: string) {
  await telegram.customerSends(t.bot, { chatId, firstName, text });
}

async function visitor(t: Team, name: string, content: string) {
  const vt = (await request(stack.url, 'POST', `/widget/${t.webchatChannel}/visitors`)).body.token;
  await request(stack.url, 'POST', `/widget/${t.webchatChannel}/messages`, { token: vt, json: { id: `m-${Date.now()}`, content, name } });
}

const list = async (s: Session, query = '') => (await s.call('GET', `/api/conversations${query}`)).body.data as any[];
const names = (rows: any[]) => rows.map((c) => c.contact.name).sort();
const timeline = async (s: Session, id: string) => (await s.call('GET', `/api/conversations/${id}/messages?limit=200`)).body.data as any[];

async function conversationOf(s: Session, name: string, query = '?status=all') {
  return eventually(async () => (await list(s, query)).find((c) => c.contact.name === name), 30_000, `a conversation with ${name}`);
}

test('filters combine, in the URL as in the API: assignee, channel type, channel, status, search, unread; counts follow', async () => {
  const t = await team();
  await customer(t, 5001, 'Dana', 'Where is my parcel?');
  await customer(t, 5002, 'Fox', 'I want a refund please');
  await visitor(t, 'Walter', 'Has the parcel left?');
  const dana = await conversationOf(t.agent, 'Dana');
  await conversationOf(t.agent, 'Fox');
  await conversationOf(t.agent, 'Walter');

  expect(dana).toMatchObject({
    channel: { id: t.telegramChannel, type: 'telegram', name: 'Support bot' },
    channel_type: 'telegram',
    contact: { name: 'Dana', handle: '5001' },
    status: 'open',
    assignee: null,
    last_message: { direction: 'inbound', preview: 'Where is my parcel?' },
    unread_count: 1,
    can_reply: true,
    reply_blocked_reason: null,
  });

  const assigned = await t.agent.call('PATCH', `/api/conversations/${dana.id}`, { json: { assignee_id: t.agent.userId } });
  expect(assigned.status).toBe(200);
  expect(assigned.body.assignee).toEqual({ id: t.agent.userId, name: 'Ana Agent' });

  expect(names(await list(t.agent, '?assignee=me'))).toEqual(['Dana']);
  expect(names(await list(t.agent, '?assignee=unassigned'))).toEqual(['Fox', 'Walter']);
  expect(names(await list(t.admin, `?assignee=${t.agent.userId}`))).toEqual(['Dana']);
  expect(names(await list(t.admin, '?assignee=me'))).toEqual([]);
  expect(names(await list(t.agent, '?channel_type=webchat'))).toEqual(['Walter']);
  expect(names(await list(t.agent, `?channel_id=${t.telegramChannel}`))).toEqual(['Dana', 'Fox']);
  expect(names(await list(t.agent, `?channel_id=${t.telegramChannel}&assignee=unassigned`))).toEqual(['Fox']);
  // Search: a contact's name (any part of it), a message's words (the last one as a prefix).
  expect(names(await list(t.agent, '?q=ana'))).toEqual(['Dana']);
  expect(names(await list(t.agent, '?q=refund'))).toEqual(['Fox']);
  expect(names(await list(t.agent, '?q=parc'))).toEqual(['Dana', 'Walter']);
  expect(names(await list(t.agent, '?q=parc&channel_type=webchat'))).toEqual(['Walter']);
  expect(names(await list(t.agent, '?q=%25'))).toEqual([]);

  const counts = async (s: Session) => (await s.call('GET', '/api/conversations/counts')).body;
  expect(await counts(t.agent)).toMatchObject({ mine: 1, unassigned: 2, all: 3, by_channel_type: { telegram: 2, webchat: 1, email: 0 } });
  expect((await counts(t.admin)).mine).toBe(0);

  const fox = await conversationOf(t.agent, 'Fox');
  expect((await t.agent.call('PATCH', `/api/conversations/${fox.id}`, { json: { status: 'resolved' } })).status).toBe(200);
  expect(names(await list(t.agent))).toEqual(['Dana', 'Walter']);
  expect(names(await list(t.agent, '?status=resolved'))).toEqual(['Fox']);
  expect(names(await list(t.agent, '?status=all'))).toEqual(['Dana', 'Fox', 'Walter']);
  expect(await counts(t.agent)).toMatchObject({ all: 2, unassigned: 1, by_status: { open: 2, resolved: 1, pending: 0, snoozed: 0 } });

  // Read state is each user's own: the agent reads Dana's conversation, the admin has not.
  expect(names(await list(t.agent, '?unread=true&status=all'))).toEqual(['Dana', 'Fox', 'Walter']);
  const last = (await timeline(t.agent, dana.id)).at(-1);
  const read = await t.agent.call('POST', `/api/conversations/${dana.id}/read`, { json: { message_id: last.id } });
  expect(read.body).toEqual({ unread_count: 0 });
  expect(names(await list(t.agent, '?unread=true&status=all'))).toEqual(['Fox', 'Walter']);
  expect(names(await list(t.admin, '?unread=true&status=all'))).toEqual(['Dana', 'Fox', 'Walter']);
  await customer(t, 5001, 'Dana', 'Hello?');
  await eventually(async () => (await list(t.agent, '?unread=true')).find((c) => c.id === dana.id)?.unread_count === 1, 30_000, 'unread again');
  // The marker only moves forward.
  await t.agent.call('POST', `/api/conversations/${dana.id}/read`, { json: { message_id: last.id } });
  expect((await list(t.agent, '?unread=true')).find((c) => c.id === dana.id)?.unread_count).toBe(1);
});

test('changes of status and assignee are activity entries; notes sit in the timeline and never reach the platform', async () => {
  const t = await team();
  await customer(t, 6001, 'Eve', 'My card was charged twice');
  const eve = await conversationOf(t.agent, 'Eve');
  await t.admin.call('PATCH', `/api/conversations/${eve.id}`, { json: { assignee_id: t.agent.userId } });
  const note = await t.agent.call('POST', `/api/conversations/${eve.id}/notes`, { json: { content: 'Checked Stripe: a duplicate. Refund today.', client_id: 'n-1' } });
  expect(note.status).toBe(201);
  expect(note.body).toMatchObject({ kind: 'note', author: { type: 'user', id: t.agent.userId, name: 'Ana Agent' } });
  // The same client_id again (a double click) is the same note.
  const again = await t.agent.call('POST', `/api/conversations/${eve.id}/notes`, { json: { content: 'Checked Stripe: a duplicate. Refund today.', client_id: 'n-1' } });
  expect(again.status).toBe(200);
  expect(again.body.id).toBe(note.body.id);

  const reply = await t.agent.call('POST', `/api/conversations/${eve.id}/messages`, { json: { content: 'Refunded, sorry!', client_id: 'r-1' } });
  expect(reply.status).toBe(202);
  expect(reply.body).toMatchObject({ kind: 'reply', status: 'pending', author: { type: 'user', id: t.agent.userId } });
  const replyAgain = await t.agent.call('POST', `/api/conversations/${eve.id}/messages`, { json: { content: 'Refunded, sorry!', client_id: 'r-1' } });
  expect(replyAgain.status).toBe(200);
  expect(replyAgain.body.id).toBe(reply.body.id);
  await t.agent.call('PATCH', `/api/conversations/${eve.id}`, { json: { status: 'pending' } });
  await t.agent.call('PATCH', `/api/conversations/${eve.id}`, { json: { status: 'resolved' } });

  await eventually(async () => (await timeline(t.agent, eve.id)).find((e) => e.id === reply.body.id)?.status === 'sent', 30_000, 'reply sent');
  const entries = await timeline(t.agent, eve.id);
  expect(entries.map((e) => [e.kind, e.content ?? e.activity])).toEqual([
    ['customer_message', 'My card was charged twice'],
    ['activity', { type: 'assignee_changed', from: null, to: { id: t.agent.userId, name: 'Ana Agent' } }],
    ['note', 'Checked Stripe: a duplicate. Refund today.'],
    ['reply', 'Refunded, sorry!'],
    ['activity', { type: 'status_changed', from: 'open', to: 'pending' }],
    ['activity', { type: 'status_changed', from: 'pending', to: 'resolved' }],
  ]);
  expect(entries[1].author).toMatchObject({ type: 'user', name: 'Ada Admin' });
  // What Telegram got: the reply, once, and never the note.
  const sent = telegram.sentMessages(t.bot).map((m) => m.text);
  expect(sent).toEqual(['Refunded, sorry!']);

  // Newest first, for opening a conversation at its end; the customer writing reopens it, and says so.
  await customer(t, 6001, 'Eve', 'Thanks!');
  await eventually(async () => (await list(t.agent)).some((c) => c.id === eve.id), 30_000, 'reopened');
  const newest = (await t.agent.call('GET', `/api/conversations/${eve.id}/messages?order=desc&limit=2`)).body;
  expect(newest.data.map((e: any) => e.kind)).toEqual(['activity', 'customer_message']);
  expect(newest.data[0].activity).toEqual({ type: 'status_changed', from: 'resolved', to: 'open', reason: 'customer_message' });
  const older = (await t.agent.call('GET', `/api/conversations/${eve.id}/messages?order=desc&limit=2&cursor=${newest.next_cursor}`)).body;
  expect(older.data.map((e: any) => e.kind)).toEqual(['activity', 'activity']);
});

test('a snoozed conversation opens again at its time, or sooner when the customer writes', async () => {
  const t = await team();
  await customer(t, 7001, 'Gus', 'Call me back tomorrow');
  await customer(t, 7002, 'Hal', 'No rush');
  const gus = await conversationOf(t.agent, 'Gus');
  const hal = await conversationOf(t.agent, 'Hal');

  // Microseconds, as Python's isoformat() writes them: kept to the millisecond.
  const wakeAt = new Date(Date.now() + 3000);
  const until = wakeAt.toISOString().replace('Z', '123+00:00');
  const snoozed = await t.agent.call('PATCH', `/api/conversations/${gus.id}`, { json: { status: 'snoozed', snoozed_until: until } });
  expect(snoozed.status).toBe(200);
  expect(snoozed.body).toMatchObject({ status: 'snoozed', snoozed_until: wakeAt.toISOString() });
  await t.agent.call('PATCH', `/api/conversations/${hal.id}`, { json: { snoozed_until: new Date(Date.now() + 3600_000).toISOString() } });
  expect(names(await list(t.agent, '?status=snoozed'))).toEqual(['Gus', 'Hal']);

  const woke = await eventually(async () => {
    const c = (await list(t.agent)).find((x) => x.id === gus.id);
    return c?.status === 'open' ? c : undefined;
  }, 30_000, 'Gus woken by the timer');
  expect(woke.snoozed_until).toBeNull();
  expect(Date.now()).toBeGreaterThanOrEqual(wakeAt.getTime());
  expect((await timeline(t.agent, gus.id)).at(-1).activity).toEqual({ type: 'status_changed', from: 'snoozed', to: 'open', reason: 'snooze_ended' });
  // The workflow's search attribute followed.
  const gusRow = await stack.db('conversations').where({ id: gus.id }).first('workflow_id');
  await eventually(async () => {
    const d = await stack.temporal.workflow.getHandle(gusRow.workflow_id).describe();
    return d.searchAttributes?.ConversationStatus?.[0] === 'open';
  }, 10_000, 'ConversationStatus open');

  await customer(t, 7002, 'Hal', 'Actually, now please');
  await eventually(async () => (await list(t.agent)).find((x) => x.id === hal.id)?.status === 'open', 30_000, 'Hal woken by his message');
  expect((await timeline(t.agent, hal.id)).map((e) => e.activity?.reason).filter(Boolean)).toEqual(['customer_message']);
});

test('bad input is refused whole, naming the field; another account sees nothing', async () => {
  const t = await team();
  const other = await accountWithAdmin(stack, 'pro');
  await customer(t, 8001, 'Ida', 'Hi');
  const ida = await conversationOf(t.agent, 'Ida');
  const patch = (json: unknown) => t.agent.call('PATCH', `/api/conversations/${ida.id}`, { json });
  const field = async (r: Promise<any>) => {
    const res = await r;
    return [res.status, res.body.error?.details?.fields?.[0]?.path ?? res.body.error?.code];
  };
  expect(await field(patch({ status: 'snoozed' }))).toEqual([422, 'snoozed_until']);
  expect(await field(patch({ status: 'snoozed', snoozed_until: new Date(Date.now() - 1000).toISOString() }))).toEqual([422, 'snoozed_until']);
  expect(await field(patch({ status: 'resolved', snoozed_until: new Date(Date.now() + 60_000).toISOString() }))).toEqual([422, 'snoozed_until']);
  expect(await field(patch({ status: 'closed' }))).toEqual([422, 'status']);
  expect(await field(patch({ assignee_id: other.admin.userId }))).toEqual([422, 'assignee_id']);
  expect(await field(patch({}))).toEqual([422, '(root)']);
  expect(await field(t.agent.call('POST', `/api/conversations/${ida.id}/notes`, { json: { content: '   ' } }))).toEqual([422, 'content']);
  expect(await field(t.agent.call('POST', `/api/conversations/${ida.id}/notes`, { json: { content: 'x'.repeat(4097) } }))).toEqual([422, 'content']);
  expect(await field(t.agent.call('POST', `/api/conversations/${ida.id}/read`, { json: { message_id: ida.channel.id } }))).toEqual([422, 'message_id']);
  expect(await field(t.agent.call('GET', '/api/conversations?status=closed&assignee=someone'))).toEqual([422, 'status']);
  expect(await field(t.agent.call('GET', `/api/conversations/${ida.id}/messages?order=sideways`))).toEqual([422, 'order']);
  // Nothing of it was written.
  expect((await timeline(t.agent, ida.id)).map((e) => e.kind)).toEqual(['customer_message']);
  expect((await list(t.agent)).find((c) => c.id === ida.id)).toMatchObject({ status: 'open', assignee: null });

  for (const [method, path] of [
    ['GET', `/api/conversations/${ida.id}`],
    ['PATCH', `/api/conversations/${ida.id}`],
    ['GET', `/api/conversations/${ida.id}/messages`],
    ['POST', `/api/conversations/${ida.id}/notes`],
  ]) {
    expect((await other.admin.call(method, path, { json: method === 'GET' ? undefined : { content: 'x', status: 'open' } })).status).toBe(404);
  }
  expect(await list(other.admin, '?status=all')).toEqual([]);
});

test('a deactivated channel says why the conversation cannot be replied to', async () => {
  const t = await team();
  await customer(t, 9001, 'Jo', 'Hello');
  const jo = await conversationOf(t.agent, 'Jo');
  await t.admin.call('PATCH', `/api/channels/${t.telegramChannel}`, { json: { is_active: false } });
  const after = (await list(t.agent)).find((c) => c.id === jo.id);
  expect(after).toMatchObject({ can_reply: false, reply_blocked_reason: 'channel_inactive' });
  const reply = await t.agent.call('POST', `/api/conversations/${jo.id}/messages`, { json: { content: 'hi' } });
  expect(reply.status).toBe(409);
  expect(reply.body.error.code).toBe('channel_inactive');
});
