import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { SECRET_HEADER } from '../../src/channels/telegram/webhook';
import { TelegramFake } from '../../src/sandbox/telegram';
import { channelSecret, connectTelegramChannel, eventually, request, Stack, startStack } from '../helpers/stack';
import { kill9, spawnWorker } from '../helpers/worker-process';

/**
 * An operator follows one request through the logs: the X-Request-Id of a webhook, or of an
 * agent's reply, is on the worker's lines of the activity that stored or sent its message,
 * beside the conversation's workflow id, channel type and channel id. The worker is
 * `pingback worker` as operators run it, its JSON lines read from its stdout.
 */
let telegram: TelegramFake;
let stack: Stack;
let worker: ChildProcess;
const lines: Array<Record<string, any>> = [];

beforeAll(async () => {
  telegram = await TelegramFake.start({ allowHttpWebhooks: true });
  stack = await startStack({ TELEGRAM_API_BASE_URL: telegram.baseUrl }, { worker: false });
  worker = await spawnWorker(stack.config, { LOG_LEVEL: 'debug' });
  let partial = '';
  worker.stdout!.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const complete = text.split('\n');
    partial = complete.pop()!;
    for (const line of complete) {
      try {
        lines.push(JSON.parse(line));
      } catch {
        /* not a log line */
      }
    }
  });
});
afterAll(async () => {
  if (worker) await kill9(worker);
  await stack?.stop();
  await telegram?.stop();
});

const lineOf = (requestId: string, activityType: string) =>
  eventually(async () => lines.find((l) => l.request_id === requestId && l.activity_type === activityType && l.msg === 'Activity completed'), 30_000, `${activityType}'s line with request_id ${requestId}`);

test("a webhook's and a reply's X-Request-Id are on the worker's lines of the activity that stored or sent the message", async () => {
  const { apiKey, token, channelId } = await connectTelegramChannel(stack);
  const chatId = 880_000 + Math.floor(Math.random() * 1000);
  // The chat exists at Telegram (its first message came through the fake); the next is posted here, with an id.
  expect((await telegram.customerSends(token, { chatId, firstName: 'Ana', text: 'first' })).status).toBe(200);

  const inboundId = `req-in-${randomUUID()}`;
  const update = { update_id: 5_000_000 + chatId, message: { message_id: 1, from: { id: chatId, is_bot: false, first_name: 'Ana' }, chat: { id: chatId, first_name: 'Ana', type: 'private' }, date: Math.floor(Date.now() / 1000), text: 'second' } };
  const hook = await request(stack.url, 'POST', `/webhooks/telegram/${channelId}`, {
    json: update,
    headers: { [SECRET_HEADER]: await channelSecret(stack, channelId), 'x-request-id': inboundId },
  });
  expect(hook.status).toBe(200);
  expect(hook.headers.get('x-request-id')).toBe(inboundId);
  const stored = await lineOf(inboundId, 'persistInbound');
  expect(stored).toMatchObject({ channel_type: 'telegram', channel_id: channelId, task_queue: stack.config.TEMPORAL_TASK_QUEUE });
  expect(stored.workflow_id).toMatch(new RegExp(`^conversation/telegram/${channelId}/`));

  const conversation = await eventually(async () => (await request(stack.url, 'GET', '/api/conversations', { token: apiKey })).body.data?.[0], 30_000, 'the conversation');
  const replyId = `req-out-${randomUUID()}`;
  const reply = await request(stack.url, 'POST', `/api/conversations/${conversation.id}/messages`, { token: apiKey, json: { content: 'hi Ana' }, headers: { 'x-request-id': replyId } });
  expect(reply.status).toBe(202);
  const sent = await lineOf(replyId, 'sendOutbound');
  expect(sent).toMatchObject({ channel_type: 'telegram', channel_id: channelId, workflow_id: stored.workflow_id });
  expect(telegram.sentMessages(token).map((m) => m.text)).toContain('hi Ana');

  // Each request's id on its own message's lines only.
  expect(lines.filter((l) => l.request_id === inboundId && l.activity_type === 'sendOutbound')).toEqual([]);
  // A request that made no id of its own gets one, answered in X-Request-Id.
  const made = await request(stack.url, 'POST', `/api/conversations/${conversation.id}/messages`, { token: apiKey, json: { content: 'one more' }, headers: { 'x-request-id': 'not an id!' } });
  const madeId = made.headers.get('x-request-id')!;
  expect(madeId).not.toBe('not an id!');
  await lineOf(madeId, 'sendOutbound');

  // A reply the platform refused, retried from the dashboard: the retry's lines carry both requests,
  // so either id finds what happened to the reply.
  telegram.setFailureRate('sendMessage', { kind: 'blocked' }, 1);
  const refusedId = `req-refused-${randomUUID()}`;
  const refused = await request(stack.url, 'POST', `/api/conversations/${conversation.id}/messages`, { token: apiKey, json: { content: 'blocked for now' }, headers: { 'x-request-id': refusedId } });
  await eventually(async () => (await stack.db('messages').where({ id: refused.body.id }).first('status'))?.status === 'failed' || undefined, 30_000, 'the reply failed');
  telegram.setFailureRate('sendMessage', { kind: 'blocked' }, 0);
  const retryId = `req-retry-${randomUUID()}`;
  const retry = await request(stack.url, 'POST', `/api/messages/${refused.body.id}/retry`, { token: apiKey, headers: { 'x-request-id': retryId } });
  expect(retry.status).toBe(202);
  const retried = await eventually(
    async () => lines.find((l) => l.activity_type === 'sendOutbound' && l.msg === 'Activity completed' && Array.isArray(l.request_ids) && l.request_ids.includes(retryId)),
    30_000,
    "the retried send's line",
  );
  expect(retried.request_ids).toEqual([refusedId, retryId]);
});
