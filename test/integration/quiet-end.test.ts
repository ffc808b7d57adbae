import { MetaFake } from '../../src/sandbox/meta';
import { TelegramFake } from '../../src/sandbox/telegram';
import { conversationWorkflowId } from '../../src/temporal/ids';
import { digits, inbox, metaChannel } from '../helpers/meta-channels';
import { connectTelegramChannel, eventually, request, Stack, startStack } from '../helpers/stack';

/**
 * CONVERSATION_QUIET_END_HOURS: a conversation's workflow ends once it has had nothing to do for
 * that long, so a worker's cache holds only live conversations; the next message starts a new run
 * of the same workflow id and lands in the same conversation. Here the period is about two seconds.
 */
let telegram: TelegramFake;
let meta: MetaFake;
let stack: Stack;
beforeAll(async () => {
  [telegram, meta] = await Promise.all([TelegramFake.start({ allowHttpWebhooks: true }), MetaFake.start()]);
  stack = await startStack({ TELEGRAM_API_BASE_URL: telegram.baseUrl, META_GRAPH_BASE_URL: meta.baseUrl, CONVERSATION_QUIET_END_HOURS: String(2 / 3600) });
});
afterAll(async () => {
  await stack?.stop();
  await Promise.all([telegram?.stop(), meta?.stop()]);
});

const status = async (workflowId: string, runId?: string) => (await stack.temporal.workflow.getHandle(workflowId, runId).describe()).status.name;

test('a quiet conversation ends its run; the next message starts another, in the same conversation, and replies go out from it', async () => {
  const { apiKey, token } = await connectTelegramChannel(stack);
  const chatId = 990_100 + Math.floor(Math.random() * 100);
  await telegram.customerSends(token, { chatId, firstName: 'Quiet', text: 'first' });
  const conversation = await eventually(async () => (await request(stack.url, 'GET', '/api/conversations', { token: apiKey })).body.data?.[0], 30_000, 'the conversation');
  const reply = await request(stack.url, 'POST', `/api/conversations/${conversation.id}/messages`, { token: apiKey, json: { content: 'before the quiet' } });
  expect(reply.status).toBe(202);
  await eventually(async () => telegram.sentMessages(token).some((m) => m.text === 'before the quiet'), 30_000, 'the first reply out');

  const workflowId: string = (await stack.db('conversations').where({ id: conversation.id }).first('workflow_id')).workflow_id;
  const first = (await stack.temporal.workflow.getHandle(workflowId).describe()).runId;
  // Between one and two quiet periods after the reply went out.
  await eventually(async () => (await status(workflowId, first)) === 'COMPLETED', 30_000, 'the quiet run completed');
  // Its history ends with the run completing: no continue-as-new, nothing carried.
  const events = (await stack.temporal.workflow.getHandle(workflowId, first).fetchHistory()).events ?? [];
  expect(events.some((e) => e.workflowExecutionCompletedEventAttributes)).toBe(true);
  expect(events.some((e) => e.workflowExecutionContinuedAsNewEventAttributes)).toBe(false);
  // Opening it asks no worker to replay the ended run: nothing is in flight.
  const opened = await request(stack.url, 'GET', `/api/conversations/${conversation.id}`, { token: apiKey });
  expect([opened.status, opened.body.live]).toEqual([200, null]);

  // The customer writes again: a new run, the same conversation; a reply goes out from the new run.
  await telegram.customerSends(token, { chatId, firstName: 'Quiet', text: 'second' });
  await eventually(async () => {
    const rows = await stack.db('messages').where({ conversation_id: conversation.id, direction: 'inbound' }).pluck('content');
    return rows.includes('second') ? rows : undefined;
  }, 30_000, 'the second message stored in the same conversation');
  const second = (await stack.temporal.workflow.getHandle(workflowId).describe()).runId;
  expect(second).not.toBe(first);
  const again = await request(stack.url, 'POST', `/api/conversations/${conversation.id}/messages`, { token: apiKey, json: { content: 'after the quiet' } });
  expect(again.status).toBe(202);
  await eventually(async () => telegram.sentMessages(token).some((m) => m.text === 'after the quiet'), 30_000, 'the second reply out');
  expect((await stack.db('conversations').where({ channel_id: conversation.channel_id })).length).toBe(1);

  // A conversation with a reply still retrying is not quiet: it does not end while the platform fails.
  telegram.setFailureRate('sendMessage', { kind: 'server_error' }, 1);
  try {
    const stuck = await request(stack.url, 'POST', `/api/conversations/${conversation.id}/messages`, { token: apiKey, json: { content: 'while Telegram fails' } });
    expect(stuck.status).toBe(202);
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await status(workflowId, second)).toBe('RUNNING');
  } finally {
    telegram.setFailureRate('sendMessage', { kind: 'server_error' }, 0);
  }
  await eventually(async () => telegram.sentMessages(token).some((m) => m.text === 'while Telegram fails'), 60_000, 'the retried reply out');
});

test("a delivery status after the run ended quiet starts a new run that records it; a status for a conversation PingBack never had starts none", async () => {
  const { apiKey, id } = await metaChannel(stack, meta, 'whatsapp');
  const from = digits(11);
  await meta.customerSendsWhatsapp(id, { from, name: 'Reads Later', text: 'hello?' });
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from);
  const reply = await box.reply(conv.id, { content: 'hi!' });
  expect(reply.status).toBe(202);
  const wamid = (await box.messageIn(conv.id, reply.body.id, ['sent'])).platform_message_id;
  const workflowId: string = (await stack.db('conversations').where({ id: conv.id }).first('workflow_id')).workflow_id;
  const first = (await stack.temporal.workflow.getHandle(workflowId).describe()).runId;
  await eventually(async () => (await status(workflowId, first)) === 'COMPLETED', 30_000, 'the quiet run completed');

  // Days later, in this test seconds: the customer reads it.
  await meta.sendStatuses(wamid, ['read']);
  await box.messageIn(conv.id, reply.body.id, ['read']);
  expect((await stack.temporal.workflow.getHandle(workflowId).describe()).runId).not.toBe(first);

  // Someone else's message on the same number: no conversation, no workflow started for it.
  const stranger = digits(11);
  await meta.sendStatuses('wamid.not-pingbacks', ['delivered'], { phoneNumberId: id, recipient: stranger });
  await eventually(async () => (await stack.db('ignored_events').where({ reason: 'unknown_message' }).whereRaw('payload::text LIKE ?', ['%wamid.not-pingbacks%']).first()) ?? undefined, 30_000, 'the stranger\'s status set aside');
  await expect(stack.temporal.workflow.getHandle(conversationWorkflowId('whatsapp', conv.channel_id, stranger)).describe()).rejects.toThrow(/not found/i);
});

test('a reply to a resolved conversation whose run ended starts a run that keeps it resolved in Temporal, as PostgreSQL says', async () => {
  const { apiKey, token } = await connectTelegramChannel(stack);
  const chatId = 990_300 + Math.floor(Math.random() * 100);
  await telegram.customerSends(token, { chatId, firstName: 'Done', text: 'thanks, solved' });
  const conversation = await eventually(async () => (await request(stack.url, 'GET', '/api/conversations', { token: apiKey })).body.data?.[0], 30_000, 'the conversation');
  expect((await request(stack.url, 'PATCH', `/api/conversations/${conversation.id}`, { token: apiKey, json: { status: 'resolved' } })).status).toBe(200);
  const workflowId: string = (await stack.db('conversations').where({ id: conversation.id }).first('workflow_id')).workflow_id;
  const first = (await stack.temporal.workflow.getHandle(workflowId).describe()).runId;
  await eventually(async () => (await status(workflowId, first)) === 'COMPLETED', 30_000, 'the quiet run completed');

  expect((await request(stack.url, 'POST', `/api/conversations/${conversation.id}/messages`, { token: apiKey, json: { content: 'glad to help' } })).status).toBe(202);
  await eventually(async () => telegram.sentMessages(token).some((m) => m.text === 'glad to help'), 30_000, 'the reply out');
  await eventually(async () => {
    const d = await stack.temporal.workflow.getHandle(workflowId).describe();
    return d.runId !== first && d.searchAttributes?.ConversationStatus?.[0] === 'resolved' ? d : undefined;
  }, 30_000, 'the new run resolved, as the database says');
  expect((await stack.db('conversations').where({ id: conversation.id }).first('status')).status).toBe('resolved');
});
