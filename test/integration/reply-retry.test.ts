import { TelegramFake } from '../../src/sandbox/telegram';
import { connectTelegramChannel, eventually, request, Stack, stackWithFake } from '../helpers/stack';

/**
 * A reply an agent can trust, on the real stack against the Telegram fake: a failed reply
 * retried goes to the platform again (through the conversation's workflow, behind anything
 * queued), and a reply sent twice with one Idempotency-Key is one platform message.
 */
let stack: Stack;
let telegram: TelegramFake;
stackWithFake(
  () => TelegramFake.start({ allowHttpWebhooks: true }),
  (fake) => ({ TELEGRAM_API_BASE_URL: fake.baseUrl }),
  (s, f) => ((stack = s), (telegram = f)),
);

async function conversationWithCustomer(chatId: number) {
  const { apiKey, token } = await connectTelegramChannel(stack);
  expect((await telegram.customerSends(token, { chatId, firstName: 'Ada', text: 'hello?' })).status).toBe(200);
  const conv = await eventually(async () => (await request(stack.url, 'GET', '/api/conversations', { token: apiKey })).body.data[0], 30_000, 'the conversation');
  const reply = (json: unknown, headers: Record<string, string> = {}) => request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json, headers });
  const message = (id: string, status: string) =>
    eventually(async () => {
      const m = (await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages`, { token: apiKey })).body.data.find((e: any) => e.id === id);
      return m?.status === status ? m : undefined;
    }, 30_000, `reply ${status}`);
  return { apiKey, token, conv, reply, message };
}

test('a failed reply retried is sent again: the platform sees a second request, the reply ends sent', async () => {
  const { apiKey, token, reply, message } = await conversationWithCustomer(5150001);
  telegram.failNext('sendMessage', { kind: 'blocked' });
  const written = await reply({ content: 'Are you still there?' });
  expect(written.status).toBe(202);
  const failed = await message(written.body.id, 'failed');
  expect(failed.error).toMatch(/blocked/);
  const before = telegram.calls('sendMessage').length;

  const retried = await request(stack.url, 'POST', `/api/messages/${written.body.id}/retry`, { token: apiKey });
  expect(retried.status).toBe(202);
  expect(retried.body).toMatchObject({ queued: true, position: 1, message: { id: written.body.id, status: 'pending', error: null } });
  const sent = await message(written.body.id, 'sent');
  expect(sent.platform_message_id).toBeTruthy();
  expect(telegram.calls('sendMessage').length).toBe(before + 1);
  expect(telegram.sentMessages(token).map((m) => m.text)).toEqual(['Are you still there?']);

  // Sent now: retrying it again is refused, and nothing more reaches the platform.
  const again = await request(stack.url, 'POST', `/api/messages/${written.body.id}/retry`, { token: apiKey });
  expect(again.status).toBe(409);
  expect(again.body.error).toMatchObject({ code: 'not_failed', message: 'only a failed reply can be retried; this one is sent' });
  expect(telegram.calls('sendMessage').length).toBe(before + 1);
});

test("retry answers 404 for what is not a reply of the account's, 409 while a channel is off", async () => {
  const { apiKey, conv, reply, message } = await conversationWithCustomer(5150002);
  const inbound = (await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages`, { token: apiKey })).body.data[0];
  expect((await request(stack.url, 'POST', `/api/messages/${inbound.id}/retry`, { token: apiKey })).status).toBe(404);
  expect((await request(stack.url, 'POST', '/api/messages/not-a-uuid/retry', { token: apiKey })).status).toBe(404);

  telegram.failNext('sendMessage', { kind: 'blocked' });
  const written = await reply({ content: 'one' });
  await message(written.body.id, 'failed');
  expect((await request(stack.url, 'PATCH', `/api/channels/${conv.channel.id}`, { token: apiKey, json: { is_active: false } })).status).toBe(200);
  const off = await request(stack.url, 'POST', `/api/messages/${written.body.id}/retry`, { token: apiKey });
  expect(off.status).toBe(409);
  expect(off.body.error.code).toBe('channel_inactive');
  expect((await message(written.body.id, 'failed')).status).toBe('failed');
});

test('one Idempotency-Key, two posts: one reply, one platform message; a key that contradicts client_id is refused', async () => {
  const { token, reply, message } = await conversationWithCustomer(5150003);
  const first = await reply({ content: 'Your refund is on its way.' }, { 'idempotency-key': 'refund-1' });
  const second = await reply({ content: 'Your refund is on its way.' }, { 'idempotency-key': 'refund-1' });
  expect([first.status, second.status]).toEqual([202, 200]);
  expect(second.body.id).toBe(first.body.id);
  await message(first.body.id, 'sent');
  // The same key in the body is the same reply too.
  expect((await reply({ content: 'Your refund is on its way.', client_id: 'refund-1' })).body.id).toBe(first.body.id);
  const clash = await reply({ content: 'x', client_id: 'refund-2' }, { 'idempotency-key': 'refund-3' });
  expect(clash.status).toBe(422);
  expect((await reply({ content: 'x' }, { 'idempotency-key': 'k'.repeat(101) })).status).toBe(422);
  await eventually(async () => telegram.sentMessages(token).length >= 1, 10_000, 'sent');
  expect(telegram.sentMessages(token).map((m) => m.text)).toEqual(['Your refund is on its way.']);
});
