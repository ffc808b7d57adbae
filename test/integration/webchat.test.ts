import { WidgetWaiters } from '../../src/widget/waiters';
import { channelSecret, createAccount, eventually, request, Stack, startStack } from '../helpers/stack';
import { newVisitorToken, verifyVisitorToken } from '../../src/channels/webchat/visitor-token';

/**
 * The web chat widget end to end, as a site's visitor and the business's agent see it:
 * the widget API (CORS, visitor tokens) → signal-with-start → conversation workflow →
 * PostgreSQL, and the agent's reply back through the webchat adapter to the widget.
 */
const SITE = 'https://shop.example.com';
let stack: Stack;
let apiKey: string;
let channelId: string;

beforeAll(async () => {
  stack = await startStack({ WEBCHAT_MESSAGES_PER_MINUTE: '8', WEBCHAT_VISITORS_PER_MINUTE: '20' });
  ({ apiKey } = await createAccount(stack, 'free'));
  const ch = await request(stack.url, 'POST', '/api/channels', {
    token: apiKey,
    json: { type: 'webchat', name: 'shop', config: { allowed_domains: ['shop.example.com', '*.help.example.com'], welcome_message: 'Hi! How can we help?', brand_color: '#112233' } },
  });
  expect(ch.status).toBe(201);
  channelId = ch.body.id;
  expect(ch.body).toMatchObject({ status: 'connected', setup: 'none', callback_url: `${stack.url}/widget/${channelId}` });
});
afterAll(async () => {
  await stack?.stop();
});

/** What a widget on `origin` does: one visitor, its token, its cursor. */
async function visitor(origin = SITE) {
  const made = await request(stack.url, 'POST', `/widget/${channelId}/visitors`, { headers: { origin } });
  expect(made.status).toBe(201);
  const token: string = made.body.token;
  let cursor: string | undefined;
  return {
    id: made.body.visitor_id as string,
    token,
    say: (content: string, extra: object = {}) => request(stack.url, 'POST', `/widget/${channelId}/messages`, { token, headers: { origin }, json: { content, ...extra } }),
    /** New messages since the last read, waiting up to `wait` seconds for one. */
    async read(wait = 0) {
      const r = await request(stack.url, 'GET', `/widget/${channelId}/messages?wait=${wait}${cursor ? `&cursor=${cursor}` : ''}`, { token, headers: { origin } });
      expect(r.status).toBe(200);
      cursor = r.body.cursor;
      return r.body.data as Array<{ from: string; content: string; client_message_id?: string }>;
    },
  };
}

async function conversationOf(visitorId: string) {
  return eventually(async () => {
    const list = await request(stack.url, 'GET', `/api/conversations?channel_type=webchat&channel_id=${channelId}`, { token: apiKey });
    return list.body.data.find((c: any) => c.contact.platform_user_id === visitorId);
  }, 30_000, `the conversation of ${visitorId}`);
}

async function messagesOf(conversationId: string) {
  return (await request(stack.url, 'GET', `/api/conversations/${conversationId}/messages`, { token: apiKey })).body.data as any[];
}

/** A new visitor whose first message is stored, and its conversation. */
async function visitorWithMessage(content: string, id: string) {
  const v = await visitor();
  expect((await v.say(content, { id })).status).toBe(202);
  const conv = await conversationOf(v.id);
  await eventually(async () => (await messagesOf(conv.id)).length === 1, 30_000, `"${content}" stored`);
  return { v, conv };
}

test('the widget reads its settings, and only pages on allowed domains get CORS access', async () => {
  const ok = await request(stack.url, 'GET', `/widget/${channelId}`, { headers: { origin: SITE } });
  expect(ok.status).toBe(200);
  expect(ok.body).toEqual({ channel_id: channelId, active: true, welcome_message: 'Hi! How can we help?', brand_color: '#112233', logo_url: null });

  const res = await fetch(`${stack.url}/widget/${channelId}/messages`, {
    method: 'OPTIONS',
    headers: { origin: 'https://eu.help.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
  expect(res.status).toBe(204);
  expect(res.headers.get('access-control-allow-origin')).toBe('https://eu.help.example.com');
  expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
  expect(res.headers.get('vary')).toMatch(/Origin/);

  for (const origin of ['https://evil.example.net', 'https://help.example.com', 'null']) {
    const refused = await fetch(`${stack.url}/widget/${channelId}/visitors`, { method: 'POST', headers: { origin } });
    expect(refused.status).toBe(403);
    // Readable there (and only naming that page's origin), so the widget can say why it stays hidden.
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    expect(((await refused.json()) as any).error.code).toBe('origin_not_allowed');
  }
  const preflightElsewhere = await fetch(`${stack.url}/widget/${channelId}/messages`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' },
  });
  expect(preflightElsewhere.status).toBe(403);
  // The preflight fails: no Allow-Methods or Allow-Headers for that page.
  expect(preflightElsewhere.headers.get('access-control-allow-methods')).toBeNull();

  // A widget pointed at a channel that does not exist can read why.
  const unknown = await fetch(`${stack.url}/widget/6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f`, { headers: { origin: SITE } });
  expect(unknown.status).toBe(404);
  expect(unknown.headers.get('access-control-allow-origin')).toBe('*');
  expect(((await unknown.json()) as any).error.code).toBe('not_found');
});

test("a visitor's messages reach the inbox in order, and the agent's replies reach the widget", async () => {
  const v = await visitor();
  for (const [i, text] of ['hello', 'my order #1234 is late', 'any news?'].entries()) {
    const r = await v.say(text, { id: `m-${i}`, name: 'Dana' });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ id: `m-${i}`, status: 'accepted' });
  }
  const conv = await conversationOf(v.id);
  expect(conv).toMatchObject({ channel_type: 'webchat', status: 'open', contact: { name: 'Dana' } });
  await eventually(async () => (await messagesOf(conv.id)).length === 3, 30_000, 'three messages stored');
  expect((await messagesOf(conv.id)).map((m) => [m.direction, m.content, m.status])).toEqual([
    ['inbound', 'hello', 'received'],
    ['inbound', 'my order #1234 is late', 'received'],
    ['inbound', 'any news?', 'received'],
  ]);

  // The widget sees its own messages back (with its ids, to match what it showed at once).
  expect((await v.read()).map((m) => [m.from, m.content, m.client_message_id])).toEqual([
    ['visitor', 'hello', 'm-0'],
    ['visitor', 'my order #1234 is late', 'm-1'],
    ['visitor', 'any news?', 'm-2'],
  ]);
  expect(await v.read()).toEqual([]);

  // A widget waiting (long poll) gets the agent's reply as soon as it is sent.
  const waiting = v.read(20);
  for (const text of ['Checking now.', 'It ships tomorrow.']) {
    const reply = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: text } });
    expect(reply.status).toBe(202);
  }
  const got = await waiting;
  expect(got.length).toBeGreaterThanOrEqual(1);
  const rest = got.length === 2 ? [] : await v.read(20);
  expect([...got, ...rest].map((m) => [m.from, m.content])).toEqual([
    ['agent', 'Checking now.'],
    ['agent', 'It ships tomorrow.'],
  ]);
  await eventually(async () => (await messagesOf(conv.id)).filter((m) => m.status === 'sent').length === 2, 30_000, 'both replies sent');
  const sent = (await messagesOf(conv.id)).filter((m) => m.direction === 'outbound');
  expect(sent.every((m) => m.platform_message_id?.startsWith('webchat:'))).toBe(true);
});

test('a reply still being sent holds back what came after it, so the widget never skips it', async () => {
  const { v, conv } = await visitorWithMessage('one', 'p-1');
  expect((await v.read()).map((m) => m.content)).toEqual(['one']);
  // A reply caught mid-send (its row written, the send not yet done), then the visitor writes again.
  const [pending] = await stack.db('messages').insert({ conversation_id: conv.id, direction: 'outbound', content: 'on it', status: 'pending' }).returning('id');
  expect((await v.say('two', { id: 'p-2' })).status).toBe(202);
  await eventually(async () => (await messagesOf(conv.id)).length === 3, 30_000, 'the second message stored');
  expect(await v.read()).toEqual([]);
  await stack.db('messages').where({ id: pending.id }).update({ status: 'sent', sent_at: stack.db.fn.now() });
  expect((await v.read()).map((m) => [m.from, m.content])).toEqual([
    ['agent', 'on it'],
    ['visitor', 'two'],
  ]);
});

test("a reply's outcome waits for an inbound write of the conversation in flight, so rows show in seq order", async () => {
  const { v, conv } = await visitorWithMessage('hi', 'o-1');
  // What persistInbound holds while it takes seqs for a batch: the conversation's row.
  const trx = await stack.db.transaction();
  let reply: Promise<{ status: number }> | undefined;
  try {
    await trx('conversations').where({ id: conv.id }).update({ updated_at: trx.fn.now() });
    // The api stores the reply and signals the workflow at once; only its last step (the
    // conversation's last_message_at) waits for the row, so the answer comes after the commit.
    reply = request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'after you' } });
    await eventually(async () => (await messagesOf(conv.id)).some((m) => m.direction === 'outbound'), 10_000, 'the reply stored');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await messagesOf(conv.id)).find((m) => m.direction === 'outbound')).toMatchObject({ content: 'after you', status: 'pending' });
  } finally {
    await trx.commit();
  }
  expect((await reply!).status).toBe(202);
  await eventually(async () => (await messagesOf(conv.id)).some((m) => m.direction === 'outbound' && m.status === 'sent'), 30_000, 'the reply sent');
});

test('a reply that failed is not shown, and what follows it is', async () => {
  const { v, conv } = await visitorWithMessage('one', 'f-1');
  await stack.db('messages').insert({ conversation_id: conv.id, direction: 'outbound', content: 'never delivered', status: 'failed', error: 'test' });
  expect((await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'this one went' } })).status).toBe(202);
  const seen: Array<{ from: string; content: string }> = [];
  await eventually(async () => {
    seen.push(...(await v.read(5)));
    return seen.some((m) => m.from === 'agent');
  }, 30_000, 'the reply at the widget');
  expect(seen.map((m) => [m.from, m.content])).toEqual([
    ['visitor', 'one'],
    ['agent', 'this one went'],
  ]);
});

test("a visitor's long polls: a few at once (tabs), and one more ends the oldest", async () => {
  const { v, conv } = await visitorWithMessage('hi', 'lp-1');
  expect((await v.read()).map((x) => x.content)).toEqual(['hi']);
  const cursor = (await request(stack.url, 'GET', `/widget/${channelId}/messages`, { token: v.token, headers: { origin: SITE } })).body.cursor;
  const poll = () => request(stack.url, 'GET', `/widget/${channelId}/messages?wait=20&cursor=${encodeURIComponent(cursor)}`, { token: v.token, headers: { origin: SITE } });
  const started = Date.now();
  const oldest = poll();
  await new Promise((r) => setTimeout(r, 300));
  const tabs = [poll(), poll(), poll()];
  await new Promise((r) => setTimeout(r, 300));
  tabs.push(poll());
  expect((await oldest).body.data).toEqual([]);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect((await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'hello there' } })).status).toBe(202);
  for (const tab of await Promise.all(tabs)) expect(tab.body.data.map((m: any) => m.content)).toEqual(['hello there']);
});

test('long polls are checked with one query: a conversation with something past the cursor wakes, others wait out their time', async () => {
  const { v } = await visitorWithMessage('ping', 'w-1');
  expect((await v.read()).map((x) => x.content)).toEqual(['ping']);
  const waiters = new WidgetWaiters(stack.db, stack.log, 50);
  const never = new AbortController();
  try {
    const started = Date.now();
    const [hasNews, otherVisitor, noConversation] = await Promise.all([
      waiters.wait(channelId, v.id, 0, 5_000, never.signal),
      waiters.wait(channelId, `v_${'A'.repeat(22)}`, 0, 400, never.signal),
      waiters.wait('6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f', v.id, 0, 400, never.signal),
    ]);
    expect([hasNews, otherVisitor, noConversation]).toEqual([true, false, false]);
    expect(Date.now() - started).toBeLessThan(3_000);
    // A client that goes away ends its poll at once.
    const gone = new AbortController();
    const abandoned = waiters.wait(channelId, v.id, Number.MAX_SAFE_INTEGER, 5_000, gone.signal);
    gone.abort();
    expect(await abandoned).toBe(false);
  } finally {
    waiters.close();
  }
  expect(stack.log.lines.filter((l) => l.includes('long polls'))).toEqual([]);
});

test('a message sent again with the same id is stored once', async () => {
  const v = await visitor();
  expect((await v.say('first', { id: 'dup-1' })).status).toBe(202);
  expect((await v.say('first', { id: 'dup-1' })).status).toBe(202);
  expect((await v.say('second', { id: 'dup-2' })).status).toBe(202);
  const conv = await conversationOf(v.id);
  await eventually(async () => (await messagesOf(conv.id)).length === 2, 30_000, 'two messages stored');
  // Give a wrongly stored duplicate time to show up before concluding there is none.
  await new Promise((r) => setTimeout(r, 1000));
  expect((await messagesOf(conv.id)).map((m) => m.content)).toEqual(['first', 'second']);
});

test('tokens are per visitor and per channel; bad input is refused with nothing stored', async () => {
  const a = await visitor();
  const b = await visitor();
  expect((await a.say('only for a', { id: 'a-1' })).status).toBe(202);
  await conversationOf(a.id);
  expect(await b.read()).toEqual([]);

  const noToken = await request(stack.url, 'POST', `/widget/${channelId}/messages`, { headers: { origin: SITE }, json: { content: 'hi' } });
  expect(noToken.status).toBe(401);
  expect(noToken.body.error.code).toBe('invalid_visitor_token');
  const forged = await request(stack.url, 'GET', `/widget/${channelId}/messages`, { token: `${b.id}.${a.token.split('.')[1]}`, headers: { origin: SITE } });
  expect(forged.status).toBe(401);

  for (const [body, path] of [
    [{ content: '   ' }, 'content'],
    [{ content: 'x'.repeat(4097) }, 'content'],
    [{ content: 'hi', id: 'has spaces' }, 'id'],
    [{ content: 'hi', admin: true }, '(root)'],
  ] as const) {
    const r = await request(stack.url, 'POST', `/widget/${channelId}/messages`, { token: b.token, headers: { origin: SITE }, json: body });
    expect(r.status).toBe(422);
    expect(r.body.error.details.fields.map((f: any) => f.path)).toEqual([path]);
  }
  const notJson = await request(stack.url, 'POST', `/widget/${channelId}/messages`, { token: b.token, headers: { origin: SITE, 'content-type': 'application/json' }, body: '{' });
  expect(notJson.status).toBe(400);
  const badCursor = await request(stack.url, 'GET', `/widget/${channelId}/messages?cursor=nope`, { token: b.token, headers: { origin: SITE } });
  expect(badCursor.status).toBe(400);
  // A's cursor is A's: it is sealed, and names A.
  const aCursor = (await request(stack.url, 'GET', `/widget/${channelId}/messages`, { token: a.token, headers: { origin: SITE } })).body.cursor;
  expect(aCursor).not.toMatch(/^\d+$/);
  const borrowed = await request(stack.url, 'GET', `/widget/${channelId}/messages?cursor=${encodeURIComponent(aCursor)}`, { token: b.token, headers: { origin: SITE } });
  expect(borrowed.status).toBe(400);
  expect(borrowed.body.error.code).toBe('invalid_cursor');

  // A token works on the channel that issued it only.
  const other = await createAccount(stack, 'free');
  const otherChannel = (await request(stack.url, 'POST', '/api/channels', { token: other.apiKey, json: { type: 'webchat', config: {} } })).body.id;
  const elsewhere = await request(stack.url, 'POST', `/widget/${otherChannel}/messages`, { token: a.token, json: { content: 'hi' } });
  expect(elsewhere.status).toBe(401);
  const badWait = await request(stack.url, 'GET', `/widget/${channelId}/messages?wait=60`, { token: b.token, headers: { origin: SITE } });
  expect(badWait.status).toBe(422);

  // None of that started a conversation for b.
  await new Promise((r) => setTimeout(r, 500));
  const list = await request(stack.url, 'GET', `/api/conversations?channel_id=${channelId}`, { token: apiKey });
  expect(list.body.data.some((c: any) => c.contact.platform_user_id === b.id)).toBe(false);
});

test('a visitor past the per-minute limit gets 429 with Retry-After', async () => {
  const v = await visitor();
  const codes: number[] = [];
  for (let i = 0; i < 9; i++) codes.push((await v.say(`n${i}`, { id: `rl-${i}` })).status);
  expect(codes).toEqual([202, 202, 202, 202, 202, 202, 202, 202, 429]);
  const res = await fetch(`${stack.url}/widget/${channelId}/messages`, {
    method: 'POST',
    headers: { origin: SITE, authorization: `Bearer ${v.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'again' }),
  });
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  // The browser may read the header and the error body across origins.
  expect(res.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);
  expect(res.headers.get('access-control-allow-origin')).toBe(SITE);
});

test('a deactivated channel takes no new messages or visitors but keeps its conversations', async () => {
  const { v, conv } = await visitorWithMessage('before', 'before');

  const off = await request(stack.url, 'PATCH', `/api/channels/${channelId}`, { token: apiKey, json: { is_active: false } });
  expect(off.status).toBe(200);
  try {
    const refused = await v.say('after', { id: 'after' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('channel_inactive');
    expect((await request(stack.url, 'POST', `/widget/${channelId}/visitors`, { headers: { origin: SITE } })).status).toBe(409);
    expect((await request(stack.url, 'GET', `/widget/${channelId}`, { headers: { origin: SITE } })).body.active).toBe(false);
    // History stays readable, for the visitor and the agent.
    expect((await v.read()).map((m) => m.content)).toEqual(['before']);
    expect((await messagesOf(conv.id)).map((m) => m.content)).toEqual(['before']);
  } finally {
    expect((await request(stack.url, 'PATCH', `/api/channels/${channelId}`, { token: apiKey, json: { is_active: true } })).status).toBe(200);
  }
});

// Last: it uses up this address's visitor allowance for the rest of the minute.
test('one address starting visitors past the per-minute limit gets 429', async () => {
  let refused: { status: number; body: any } | undefined;
  for (let i = 0; i < 30 && !refused; i++) {
    // Without a trusted proxy (TRUSTED_PROXY_HOPS), an address the client claims counts for nothing.
    const r = await request(stack.url, 'POST', `/widget/${channelId}/visitors`, { headers: { origin: SITE, 'x-forwarded-for': `203.0.113.${i}` } });
    if (r.status === 429) refused = r;
    else expect(r.status).toBe(201);
  }
  expect(refused?.body.error.code).toBe('rate_limited');
});

test('the limits hold across api processes: two apis share one allowance per address', async () => {
  const { apiKey: key } = await createAccount(stack, 'free');
  const ch = await request(stack.url, 'POST', '/api/channels', { token: key, json: { type: 'webchat', name: 'two apis', config: { allowed_domains: ['shop.example.com'] } } });
  const other = await startStack({ WEBCHAT_VISITORS_PER_MINUTE: '20' }, { worker: false });
  try {
    const codes: number[] = [];
    for (let i = 0; i < 24; i++) {
      const api = i % 2 === 0 ? stack.url : other.url;
      codes.push((await request(api, 'POST', `/widget/${ch.body.id}/visitors`, { headers: { origin: SITE } })).status);
    }
    // Each process counting alone would have let all 24 in.
    expect(codes.filter((c) => c === 201)).toHaveLength(20);
    expect(codes.slice(20)).toEqual([429, 429, 429, 429]);
  } finally {
    await other.stop();
  }
});

test("a visitor's token expires: past its lifetime it is refused; half way through, the answer carries a renewed one for the same visitor", async () => {
  const webhook_secret = await channelSecret(stack, channelId);
  const ttlMs = stack.config.WEBCHAT_VISITOR_TOKEN_DAYS * 86_400_000;
  const say = (token: string, id: string) =>
    request(stack.url, 'POST', `/widget/${channelId}/messages`, { headers: { origin: SITE, authorization: `Bearer ${token}` }, json: { content: `hello ${id}`, id } });

  const expired = newVisitorToken(channelId, webhook_secret, { ttlMs, now: Date.now() - ttlMs - 60_000 });
  const refused = await say(expired.token, 'x1');
  expect([refused.status, refused.body.error.code]).toEqual([401, 'invalid_visitor_token']);

  const fresh = newVisitorToken(channelId, webhook_secret, { ttlMs });
  const early = await say(fresh.token, 'x2');
  expect([early.status, early.headers.get('x-visitor-token')]).toEqual([202, null]);

  const aging = newVisitorToken(channelId, webhook_secret, { ttlMs, now: Date.now() - 0.6 * ttlMs });
  const late = await say(aging.token, 'x3');
  expect(late.status).toBe(202);
  expect(late.headers.get('access-control-expose-headers')).toMatch(/X-Visitor-Token/);
  const renewed = verifyVisitorToken(channelId, webhook_secret, late.headers.get('x-visitor-token')!);
  expect(renewed?.visitorId).toBe(aging.visitorId);
  expect((await say(late.headers.get('x-visitor-token')!, 'x4')).status).toBe(202);
  // Both messages are the one visitor's conversation.
  const conv = await conversationOf(aging.visitorId);
  expect((await eventually(async () => { const m = await messagesOf(conv.id); return m.length === 2 ? m : undefined; }, 30_000, 'two messages')).map((m: any) => m.content)).toEqual(['hello x3', 'hello x4']);
});
