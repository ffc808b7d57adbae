import { randomInt, randomUUID } from 'node:crypto';
import { TelegramFake } from '../../src/sandbox/telegram';
import { agentUpload, createAccount, eventually, fakeBotToken, request, Stack, startStack } from '../helpers/stack';

/**
 * Telegram both ways, from outside: the Bot API fake plays Telegram and the
 * customer, PingBack runs for real on PostgreSQL and the Temporal dev server.
 */
let telegram: TelegramFake;
let stack: Stack;

beforeAll(async () => {
  telegram = await TelegramFake.start({ allowHttpWebhooks: true });
  stack = await startStack({ TELEGRAM_API_BASE_URL: telegram.baseUrl });
});
afterAll(async () => {
  await stack?.stop();
  await telegram?.stop();
});

async function connectedTelegramChannel() {
  const { apiKey } = await createAccount(stack, 'mini');
  const token = fakeBotToken();
  const created = await request(stack.url, 'POST', '/api/channels', {
    token: apiKey,
    json: { type: 'telegram', name: 'Support bot', config: { bot_token: token } },
  });
  expect(created.status).toBe(201);
  const channel = await eventually(async () => {
    const r = await request(stack.url, 'GET', `/api/channels/${created.body.id}`, { token: apiKey });
    return r.body.status === 'connected' ? r.body : undefined;
  }, 30_000, 'channel connected');
  return { apiKey, token, channel };
}

async function conversationFor(apiKey: string, chatId: number) {
  return eventually(async () => {
    const r = await request(stack.url, 'GET', '/api/conversations?channel_type=telegram', { token: apiKey });
    return r.body.data.find((c: any) => c.contact.platform_user_id === String(chatId));
  }, 30_000, 'conversation in the inbox');
}

async function messagesOf(apiKey: string, conversationId: string) {
  const r = await request(stack.url, 'GET', `/api/conversations/${conversationId}/messages`, { token: apiKey });
  expect(r.status).toBe(200);
  return r.body.data as any[];
}

test('channel creation registers the webhook with Telegram, secret masked in the API', async () => {
  const { token, channel } = await connectedTelegramChannel();
  const hook = telegram.webhookInfo(token)!;
  expect(hook.url).toBe(`${stack.url}/webhooks/telegram/${channel.id}`);
  expect(hook.url).toBe(channel.callback_url);
  expect(hook.secret_token).toMatch(/^[A-Za-z0-9_-]{16,256}$/);
  expect(hook.allowed_updates).toEqual(['message', 'edited_message', 'callback_query']);
  expect(channel.config.bot_token).not.toContain(token.slice(0, 20));
  expect(JSON.stringify(channel)).not.toContain(token);
  expect(JSON.stringify(channel)).not.toContain(hook.secret_token);
  expect(stack.log.lines.join('\n')).not.toContain(token);
});

test('a customer message lands in the inbox and the reply reaches the customer', async () => {
  const { apiKey, token } = await connectedTelegramChannel();
  const sent = await telegram.customerSends(token, { chatId: 4242001, firstName: 'Ada', lastName: 'L', username: 'ada', text: 'Hello, is anyone there?' });
  expect(sent.status).toBe(200);

  const conv = await conversationFor(apiKey, 4242001);
  expect(conv).toMatchObject({ channel_type: 'telegram', status: 'open', contact: { name: 'Ada L', username: 'ada' } });
  const inbound = await eventually(async () => (await messagesOf(apiKey, conv.id)).find((m) => m.direction === 'inbound'));
  expect(inbound).toMatchObject({ kind: 'customer_message', content: 'Hello, is anyone there?', status: 'received' });

  const reply = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'Yes! How can I help?' } });
  expect(reply.status).toBe(202);
  expect(reply.body).toMatchObject({ direction: 'outbound', status: 'pending', content: 'Yes! How can I help?' });

  const out = await eventually(async () => {
    const m = (await messagesOf(apiKey, conv.id)).find((x) => x.id === reply.body.id);
    return m?.status === 'sent' ? m : undefined;
  });
  const delivered = telegram.sentMessages(token);
  expect(delivered).toHaveLength(1);
  expect(delivered[0]).toMatchObject({ chat_id: '4242001', text: 'Yes! How can I help?' });
  expect(out.platform_message_id).toBe(String(delivered[0].message_id));
  expect(out.attempts).toBe(1);
});

test('Telegram redelivering the same update stores one message', async () => {
  const { apiKey, token } = await connectedTelegramChannel();
  const first = await telegram.customerSends(token, { chatId: 4242002, firstName: 'Bo', text: 'only once please' });
  expect(first.status).toBe(200);
  const again = await telegram.redeliver(token, first.update);
  expect(again.status).toBe(200);
  const conv = await conversationFor(apiKey, 4242002);
  await telegram.customerSends(token, { chatId: 4242002, firstName: 'Bo', text: 'second' });
  const msgs = await eventually(async () => {
    const all = await messagesOf(apiKey, conv.id);
    return all.length >= 2 ? all : undefined;
  });
  // A later message arriving proves the duplicate was processed before it, not still in flight.
  expect(msgs.map((m) => m.content)).toEqual(['only once please', 'second']);
});

test('wrong secret 401, unknown channel 404, malformed update 400: nothing signalled, nothing written', async () => {
  const { token, channel } = await connectedTelegramChannel();
  const before = await stack.db('conversations').where({ channel_id: channel.id }).count<{ count: string }[]>('* as count');
  const update = { update_id: 1, message: { message_id: 1, date: 1700000000, chat: { id: 5, type: 'private', first_name: 'X' }, text: 'hi' } };
  const secret = telegram.webhookInfo(token)!.secret_token!;

  const wrong = await request(stack.url, 'POST', `/webhooks/telegram/${channel.id}`, {
    json: update,
    headers: { 'x-telegram-bot-api-secret-token': 'not-the-secret' },
  });
  expect(wrong.status).toBe(401);
  expect(wrong.body.error.code).toBe('invalid_signature');

  const missing = await request(stack.url, 'POST', `/webhooks/telegram/00000000-0000-4000-8000-000000000000`, {
    json: update,
    headers: { 'x-telegram-bot-api-secret-token': secret },
  });
  expect(missing.status).toBe(404);
  expect(missing.body.error.code).toBe('not_found');

  for (const body of ['{not json', JSON.stringify({ update_id: 'x' }), JSON.stringify({ message: { text: 'no ids' } })]) {
    const bad = await request(stack.url, 'POST', `/webhooks/telegram/${channel.id}`, {
      body,
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toEqual(expect.objectContaining({ code: expect.any(String), message: expect.any(String) }));
  }
  const after = await stack.db('conversations').where({ channel_id: channel.id }).count<{ count: string }[]>('* as count');
  expect(after).toEqual(before);
});

test('429 from Telegram: the reply waits retry_after and is then sent once', async () => {
  const { apiKey, token } = await connectedTelegramChannel();
  await telegram.customerSends(token, { chatId: 4242003, firstName: 'Cy', text: 'hi' });
  const conv = await conversationFor(apiKey, 4242003);
  telegram.failNext('sendMessage', { kind: 'rate_limit', retryAfter: 2 });
  const reply = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'after the limit' } });
  expect(reply.status).toBe(202);
  // While it waits, the timeline says why and when the next try comes: Telegram's retry_after.
  // (Before Telegram answers, the first attempt shows as started: attempts 1, no error yet.)
  const waiting = await eventually(async () => {
    const m = (await messagesOf(apiKey, conv.id)).find((x) => x.id === reply.body.id);
    return m?.attempts === 1 && m.status === 'pending' && m.error ? m : undefined;
  });
  expect(waiting.error).toMatch(/Too Many Requests|retry after/i);
  const wait = Date.parse(waiting.next_attempt_at) - Date.parse(waiting.updated_at);
  expect(wait).toBeGreaterThan(1500);
  expect(wait).toBeLessThan(2500);
  const out = await eventually(async () => {
    const m = (await messagesOf(apiKey, conv.id)).find((x) => x.id === reply.body.id);
    return m?.status === 'sent' ? m : undefined;
  });
  expect(out.attempts).toBe(2);
  expect(out.next_attempt_at).toBeNull();
  const calls = telegram.calls('sendMessage').filter((c) => c.token === token);
  expect(calls.map((c) => c.status)).toEqual([429, 200]);
  expect(telegram.sentMessages(token)).toHaveLength(1);
});

test('403 bot blocked: the reply fails at once with Telegram\'s reason', async () => {
  const { apiKey, token } = await connectedTelegramChannel();
  await telegram.customerSends(token, { chatId: 4242004, firstName: 'Di', text: 'hi' });
  const conv = await conversationFor(apiKey, 4242004);
  telegram.failNext('sendMessage', { kind: 'blocked' });
  const reply = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'are you there?' } });
  const out = await eventually(async () => {
    const m = (await messagesOf(apiKey, conv.id)).find((x) => x.id === reply.body.id);
    return m?.status === 'failed' ? m : undefined;
  });
  expect(out.error).toBe('Forbidden: bot was blocked by the user');
  expect(out.attempts).toBe(1);
  expect(telegram.calls('sendMessage').filter((c) => c.token === token)).toHaveLength(1);
});

test('5xx outage: retries with backoff, the live state shows attempts and the last error', async () => {
  const { apiKey, token } = await connectedTelegramChannel();
  await telegram.customerSends(token, { chatId: 4242005, firstName: 'Ed', text: 'hi' });
  const conv = await conversationFor(apiKey, 4242005);
  telegram.failNext('sendMessage', { kind: 'server_error', status: 502 }, 3);
  const reply = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'through the outage' } });
  const live = await eventually(async () => {
    const r = await request(stack.url, 'GET', `/api/conversations/${conv.id}`, { token: apiKey });
    const p = r.body.live?.pendingSends?.find((s: any) => s.messageId === reply.body.id);
    return p && p.attempts >= 2 ? p : undefined;
  });
  expect(live).toMatchObject({ state: 'sending', lastError: 'Bad Gateway' });
  const out = await eventually(async () => {
    const m = (await messagesOf(apiKey, conv.id)).find((x) => x.id === reply.body.id);
    return m?.status === 'sent' ? m : undefined;
  });
  expect(out.attempts).toBe(4);
  expect(telegram.sentMessages(token)).toHaveLength(1);
});

test('another account sees none of it', async () => {
  const { apiKey, token, channel } = await connectedTelegramChannel();
  await telegram.customerSends(token, { chatId: 4242006, firstName: 'Fi', text: 'private' });
  const conv = await conversationFor(apiKey, 4242006);
  const other = await createAccount(stack, 'pro');
  for (const path of [`/api/conversations/${conv.id}`, `/api/conversations/${conv.id}/messages`, `/api/channels/${channel.id}`]) {
    const r = await request(stack.url, 'GET', path, { token: other.apiKey });
    expect(r.status).toBe(404);
  }
  const post = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: other.apiKey, json: { content: 'x' } });
  expect(post.status).toBe(404);
  const list = await request(stack.url, 'GET', '/api/conversations', { token: other.apiKey });
  expect(list.body.data).toEqual([]);
});

test('Temporal unreachable: the webhook answers 503 and writes nothing, so Telegram redelivers', async () => {
  const { accountId } = await createAccount(stack, 'mini');
  // A second API whose Temporal address has nothing listening.
  const down = await startStack(
    { TELEGRAM_API_BASE_URL: telegram.baseUrl, TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_SIGNAL_TIMEOUT_MS: '1500' },
    { worker: false },
  );
  try {
    const [channel] = await down
      .db('channels')
      .insert({ account_id: accountId, type: 'telegram', name: 't', config: { bot_token: fakeBotToken() }, webhook_secret: 's3cret-s3cret', verify_token: 'v' })
      .returning('*');
    const update = { update_id: 9, message: { message_id: 9, date: 1700000000, chat: { id: 77, type: 'private', first_name: 'G' }, from: { id: 77, is_bot: false, first_name: 'G' }, text: 'hello?' } };
    const res = await request(down.url, 'POST', `/webhooks/telegram/${channel.id}`, {
      json: update,
      headers: { 'x-telegram-bot-api-secret-token': 's3cret-s3cret' },
    });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('temporal_unavailable');
    // Temporal's own error (hosts, namespaces) is logged, not handed to the caller.
    expect(res.body.error.details).toBeUndefined();
    expect(down.log.lines.join('\n')).toMatch(/temporal_unavailable/);
    expect(await down.db('conversations').where({ channel_id: channel.id })).toEqual([]);
  } finally {
    await down.stop();
  }
});

test('operators can find conversations by channel type and status in Temporal', async () => {
  const { apiKey, token, channel } = await connectedTelegramChannel();
  await telegram.customerSends(token, { chatId: 4242007, firstName: 'Gi', text: 'find me' });
  const conv = await conversationFor(apiKey, 4242007);
  const resolved = await request(stack.url, 'PATCH', `/api/conversations/${conv.id}`, { token: apiKey, json: { status: 'resolved' } });
  expect(resolved.status).toBe(200);
  expect(resolved.body.status).toBe('resolved');
  const query = `ChannelType='telegram' AND ChannelId='${channel.id}' AND ConversationStatus='resolved'`;
  const found = await eventually(async () => {
    const ids: string[] = [];
    for await (const wf of stack.temporal.workflow.list({ query })) ids.push(wf.workflowId);
    return ids.length ? ids : undefined;
  }, 30_000, 'workflow visible by search attributes');
  expect(found).toEqual([conv.workflow_id]);
  // The Temporal UI's "Stack Trace" tab: on by default (WORKER_WORKFLOW_STACK_TRACES), it shows where a conversation waits.
  expect(await stack.temporal.workflow.getHandle(conv.workflow_id).query<string>('__stack_trace')).toContain('conversationWorkflow');

  // The customer writing again reopens it, in the inbox and for operators.
  await telegram.customerSends(token, { chatId: 4242007, firstName: 'Gi', text: 'one more thing' });
  await eventually(async () => (await request(stack.url, 'GET', `/api/conversations/${conv.id}`, { token: apiKey })).body.status === 'open');
  await eventually(async () => {
    for await (const wf of stack.temporal.workflow.list({ query: `ChannelId='${channel.id}' AND ConversationStatus='open'` })) return true;
    return undefined;
  }, 30_000, 'reopened in Temporal');
});

test('the worker process spreads conversations over its SDK workers, and every message is stored once', async () => {
  const { apiKey, token } = await connectedTelegramChannel();
  const group = stack.workers()!;
  expect(group.size).toBe(stack.config.WORKER_INSTANCES);
  const chats = Array.from({ length: 24 }, (_, i) => 4243000 + i);
  const sent = await Promise.all(chats.map((chatId) => telegram.customerSends(token, { chatId, firstName: 'C', text: `hi from ${chatId}` })));
  expect(sent.every((r) => r.status === 200)).toBe(true);

  const conversations = await eventually(async () => {
    const r = await request(stack.url, 'GET', '/api/conversations?channel_type=telegram&limit=100', { token: apiKey });
    const ours = r.body.data.filter((c: any) => chats.includes(Number(c.contact.platform_user_id)));
    return ours.length === chats.length ? ours : undefined;
  }, 30_000, 'every conversation in the inbox');
  for (const c of conversations) {
    const messages = await eventually(async () => {
      const m = await messagesOf(apiKey, c.id);
      return m.length > 0 ? m : undefined;
    });
    expect(messages.map((m: any) => m.content)).toEqual([`hi from ${c.contact.platform_user_id}`]);
  }
  // More than one SDK worker holds conversations: the cache, and the per-event cost with it, is shared.
  expect(group.cachedWorkflows().filter((n) => n > 0).length).toBeGreaterThan(1);
});

test('someone guessing channel ids from one address gets a few 404s a minute, then 429', async () => {
  // Behind a proxy of ours, so the guesser's address is its own (no other test's, nor an earlier run's: counts outlive a run by a minute).
  const address = `198.51.100.${randomInt(1, 127)}`;
  const proxied = await startStack({ TRUSTED_PROXY_HOPS: '1' }, { worker: false });
  try {
    const guess = () =>
      request(proxied.url, 'POST', `/webhooks/telegram/${randomUUID()}`, { headers: { 'x-forwarded-for': address }, json: { update_id: 1 } });
    const codes: number[] = [];
    for (let i = 0; i < 31; i++) codes.push((await guess()).status);
    expect(codes.slice(0, 30).every((c) => c === 404)).toBe(true);
    const refused = await guess();
    expect([codes[30], refused.status, refused.body.error.code]).toEqual([429, 429, 'rate_limited']);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another address is not held up by it.
    expect((await request(proxied.url, 'POST', `/webhooks/telegram/${randomUUID()}`, { headers: { 'x-forwarded-for': `198.51.100.${randomInt(128, 255)}` }, json: {} })).status).toBe(404);
  } finally {
    await proxied.stop();
  }
});

test('a reply still not out a day after it was written is failed, not sent late, however many runs it was handed through', async () => {
  const { apiKey, token } = await connectedTelegramChannel();
  await telegram.customerSends(token, { chatId: 4242099, firstName: 'Gus', text: 'hi' });
  const conv = await conversationFor(apiKey, 4242099);
  const outage = { kind: 'server_error', status: 502 } as const;
  telegram.setFailureRate('sendMessage', outage, 1);
  try {
    const reply = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'too late' } });
    await eventually(async () => ((await messagesOf(apiKey, conv.id)).find((x) => x.id === reply.body.id)?.attempts ?? 0) >= 1 || undefined);
    // As if it had been retrying since yesterday (a new run's activity would not know).
    await stack.db('messages').where({ id: reply.body.id }).update({ created_at: stack.db.raw("now() - interval '25 hours'") });
    const out = await eventually(async () => {
      const m = (await messagesOf(apiKey, conv.id)).find((x) => x.id === reply.body.id);
      return m?.status === 'failed' ? m : undefined;
    }, 30_000, 'the reply failed');
    expect(out.error).toMatch(/^not sent within 24 hours of being written/);
    expect(telegram.sentMessages(token).filter((m) => m.text === 'too late')).toEqual([]);
  } finally {
    telegram.setFailureRate('sendMessage', outage, 0);
  }
});

test("a customer's photo and document open for the agent: fetched from Telegram's file server (getFile), the same bytes", async () => {
  const { apiKey, token } = await connectedTelegramChannel();
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytesOf(3000)]);
  const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytesOf(5000)]);
  await telegram.customerSends(token, { chatId: 6150009, firstName: 'Ola', photo: { bytes: jpeg }, caption: 'the label' });
  await telegram.customerSends(token, { chatId: 6150009, firstName: 'Ola', document: { bytes: pdf, name: 'receipt.pdf', type: 'application/pdf' } });
  const conv = await conversationFor(apiKey, 6150009);
  const msgs = await eventually(async () => {
    const r = await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages`, { token: apiKey });
    return r.body.data.length === 2 ? r.body.data : undefined;
  }, 30_000, 'both messages stored');
  const open = (m: any) => fetch(`${stack.url}/api/conversations/${conv.id}/messages/${m.id}/attachments/0`, { headers: { authorization: `Bearer ${apiKey}` } });
  const photo = await open(msgs[0]);
  expect([photo.status, photo.headers.get('content-type')]).toEqual([200, 'image/jpeg']);
  expect(Buffer.from(await photo.arrayBuffer()).equals(jpeg)).toBe(true);
  const doc = await open(msgs[1]);
  expect([doc.status, doc.headers.get('content-type')]).toEqual([200, 'application/pdf']);
  expect(Buffer.from(await doc.arrayBuffer()).equals(pdf)).toBe(true);
  expect(telegram.calls('getFile').map((c) => c.status)).toEqual([200, 200]);
});

test("an agent's files reach the customer: a photo with the reply as its caption, then a document, the same bytes", async () => {
  const { apiKey, token } = await connectedTelegramChannel();
  await telegram.customerSends(token, { chatId: 6150001, firstName: 'Ines', text: 'Can you send the invoice?' });
  const conv = await conversationFor(apiKey, 6150001);
  const photo = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytesOf(4000)]);
  const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytesOf(20_000)]);
  const ids = [await agentUpload(stack, apiKey, conv.id, photo, 'image/png', 'label.png'), await agentUpload(stack, apiKey, conv.id, pdf, 'application/pdf', 'invoice.pdf')];
  const reply = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'Here you go', attachments: ids } });
  expect(reply.status).toBe(202);
  const sent = await eventually(async () => {
    const m = (await messagesOf(apiKey, conv.id)).find((x) => x.id === reply.body.id);
    return m?.status === 'sent' ? m : undefined;
  }, 30_000, 'the reply sent');
  const files = telegram.sentMessages(token).filter((m) => m.file);
  expect(files.map((m) => [m.file!.method, m.file!.name, m.file!.type, m.text])).toEqual([
    ['sendPhoto', 'label.png', 'image/png', 'Here you go'],
    ['sendDocument', 'invoice.pdf', 'application/pdf', ''],
  ]);
  expect(files[0].file!.bytes.equals(photo)).toBe(true);
  expect(files[1].file!.bytes.equals(pdf)).toBe(true);
  expect(sent.platform_message_id).toBe(String(files[0].message_id));
  expect(telegram.sentMessages(token).filter((m) => !m.file)).toEqual([]);
});

test('a reply of several files failing part-way is taken up where it stopped: each file reaches the customer once', async () => {
  const { apiKey, token } = await connectedTelegramChannel();
  await telegram.customerSends(token, { chatId: 6150002, firstName: 'Ivo', text: 'The photos please' });
  const conv = await conversationFor(apiKey, 6150002);
  const pics = [1, 2, 3].map(() => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytesOf(3000)]));
  const ids = [];
  for (const [i, p] of pics.entries()) ids.push(await agentUpload(stack, apiKey, conv.id, p, 'image/jpeg', `p${i}.jpg`));
  // The second upload meets an outage: the first photo is out already, and must not go again.
  telegram.failNext('sendPhoto', { kind: 'server_error' }, 1);
  let calls = 0;
  const text = 'x'.repeat(1500); // too long for a caption: sent first, on its own
  const reply = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: text, attachments: ids } });
  await eventually(async () => (await messagesOf(apiKey, conv.id)).find((x) => x.id === reply.body.id)?.status === 'sent', 30_000, 'the reply sent');
  calls = telegram.calls('sendPhoto').filter((c) => c.token === token).length;
  const sent = telegram.sentMessages(token);
  expect(sent.map((m) => m.file?.name ?? `text:${m.text.length}`)).toEqual(['text:1500', 'p0.jpg', 'p1.jpg', 'p2.jpg']);
  expect(calls).toBe(4); // three photos and the one refused
  for (const [i, p] of pics.entries()) expect(sent[i + 1].file!.bytes.equals(p)).toBe(true);
});

function randomBytesOf(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => randomInt(256)));
}
