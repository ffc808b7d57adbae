import { randomBytes } from 'node:crypto';
import { MetaFake } from '../../src/sandbox/meta';
import { signMetaPayload } from '../../src/channels/meta/signature';
import { metaJson, waChange, waWebhook } from '../../src/sandbox/meta-payloads';
import { channelChecked, digits, inbox, metaChannel } from '../helpers/meta-channels';
import { agentUpload, eventually, request, Stack, stackWithFake } from '../helpers/stack';

/**
 * WhatsApp from outside: the Graph API fake plays Meta and the customer (signed webhooks,
 * statuses, the 24-hour window); PingBack runs for real on PostgreSQL and Temporal.
 */
let meta: MetaFake;
let stack: Stack;

stackWithFake(() => MetaFake.start(), (fake) => ({ META_GRAPH_BASE_URL: fake.baseUrl }), (s, fake) => {
  stack = s;
  meta = fake;
});

const countRows = async (table: string, where: object) => Number((await stack.db(table).where(where).count<{ count: string }[]>('* as count'))[0].count);
const conversationRows = (channelId: string) => countRows('conversations', { channel_id: channelId });
/** Platform ids of a channel's messages, in stored order (the test database outlives runs: always scope by channel). */
const platformIdsOf = (channelId: string): Promise<string[]> =>
  stack.db('messages as m').join('conversations as c', 'c.id', 'm.conversation_id').where('c.channel_id', channelId).orderBy('m.seq').pluck('m.platform_message_id');

test('the token is checked on create; the verification handshake gets the challenge as text with the right token, anything else 403', async () => {
  const { apiKey, channel, id } = await metaChannel(stack, meta, 'whatsapp', { subscribe: false });
  expect(channel.status).toBe('pending');
  const checked = (await request(stack.url, 'GET', `/api/channels/${channel.id}`, { token: apiKey })).body;
  expect(checked).toMatchObject({ status: 'connected', status_message: expect.stringMatching(/^connected as PingBack Sandbox \(\d+\); messages arrive by webhook/) });
  expect(meta.calls(`/${id}`).filter((c) => !c.path.endsWith('/messages'))).toEqual([expect.objectContaining({ method: 'GET', path: `/v21.0/${id}`, status: 200 })]);
  const path = `/webhooks/whatsapp/${channel.id}`;
  const hub = (q: Record<string, string>) => `${path}?${new URLSearchParams(q)}`;

  const wrong = await request(stack.url, 'GET', hub({ 'hub.mode': 'subscribe', 'hub.challenge': '1158201444', 'hub.verify_token': 'meatyhamhock' }));
  expect(wrong.status).toBe(403);
  const badMode = await request(stack.url, 'GET', hub({ 'hub.mode': 'unsubscribe', 'hub.challenge': '1', 'hub.verify_token': channel.verify_token }));
  expect(badMode.status).toBe(403);
  expect((await request(stack.url, 'GET', `/api/channels/${channel.id}`, { token: apiKey })).body.status_message).toBe(checked.status_message);

  const res = await fetch(stack.url + hub({ 'hub.mode': 'subscribe', 'hub.challenge': '1158201444', 'hub.verify_token': channel.verify_token }));
  expect([res.status, res.headers.get('content-type'), await res.text()]).toEqual([200, 'text/plain; charset=utf-8', '1158201444']);
  const after = await request(stack.url, 'GET', `/api/channels/${channel.id}`, { token: apiKey });
  expect(after.body).toMatchObject({ status: 'connected', status_message: 'callback URL verified by Meta' });
  expect((await request(stack.url, 'GET', hub({ 'hub.mode': 'subscribe', 'hub.challenge': '1', 'hub.verify_token': 'x' }).replace(channel.id, '00000000-0000-4000-8000-000000000000'))).status).toBe(404);
});

test('a missing or wrong signature is 401 and nothing is signalled; a malformed envelope is 400', async () => {
  const { channel, id, appSecret } = await metaChannel(stack, meta, 'whatsapp');
  const from = digits(11);
  const business = { phoneNumberId: id, displayPhoneNumber: '15550000000', wabaId: '1' };
  const payload = (wamid: string) =>
    waWebhook([{ wabaId: '1', changes: [waChange(business, { contacts: [{ wa_id: from }], messages: [{ from, id: wamid, timestamp: '1700000000', type: 'text', text: { body: wamid } }] })] }]);
  const refused = [
    await meta.deliver(id, payload('wamid.unsigned'), { signature: null }),
    await meta.deliver(id, payload('wamid.zeros'), { signature: `sha256=${'0'.repeat(64)}` }),
    await meta.deliver(id, payload('wamid.sha1'), { signature: 'sha1=abc' }),
    await meta.deliver(id, payload('wamid.other-secret'), { signature: signMetaPayload(metaJson(payload('wamid.other-secret')), 'not-the-secret') }),
    // Signed, then a byte changed in transit.
    await meta.deliver(id, payload('wamid.tampered'), { signature: signMetaPayload(metaJson(payload('wamid.original')), appSecret) }),
  ];
  expect(refused.map((r) => [r.status, JSON.parse(r.body).error.code])).toEqual(Array(5).fill([401, 'invalid_signature']));
  for (const body of ['{not json', JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1' }] }), JSON.stringify({ object: 'page', entry: [] })]) {
    expect((await meta.deliver(id, {}, { body })).status).toBe(400);
  }
  // The correctly signed one goes through. Signals of one conversation are persisted in order,
  // so once it is stored, any refused one that had been signalled would be stored too.
  expect((await meta.deliver(id, payload('wamid.good'))).status).toBe(200);
  await eventually(async () => (await platformIdsOf(channel.id)).includes('wamid.good'));
  expect(await platformIdsOf(channel.id)).toEqual(['wamid.good']);
  expect(await countRows('ignored_events', { channel_id: channel.id })).toBe(0);
});

test('one POST with several entries and messages: each in its conversation, in order, names kept', async () => {
  const { apiKey, channel, id } = await metaChannel(stack, meta, 'whatsapp');
  const [a, b, c] = [digits(11), digits(11), digits(11)];
  const batch = [
    { from: a, name: 'Ada', text: 'a1' },
    { from: b, name: 'Bo', text: 'b1' },
    { from: a, name: 'Ada', text: 'a2' },
    { from: c, name: 'Cy', text: 'c1' },
    { from: b, name: 'Bo', text: 'b2' },
    { from: a, name: 'Ada', text: 'a3' },
  ];
  const first = await meta.customerSendsWhatsapp(id, batch.slice(0, 3), { layout: 'entry-per-message' });
  const second = await meta.customerSendsWhatsapp(id, batch.slice(3), { layout: 'one-change' });
  expect([first.status, second.status]).toEqual([200, 200]);
  expect(JSON.parse(second.body)).toMatchObject({ ok: true, messages: 3 });

  const box = inbox(stack, apiKey);
  const convA = await box.conversationFor(a, 3);
  const convB = await box.conversationFor(b, 2);
  const convC = await box.conversationFor(c, 1);
  expect((await box.messagesOf(convA.id)).map((m) => m.content)).toEqual(['a1', 'a2', 'a3']);
  expect((await box.messagesOf(convB.id)).map((m) => m.content)).toEqual(['b1', 'b2']);
  expect((await box.messagesOf(convC.id)).map((m) => m.content)).toEqual(['c1']);
  expect([convA.contact.name, convB.contact.name, convA.channel_type]).toEqual(['Ada', 'Bo', 'whatsapp']);
  expect(convA.workflow_id).toBe(`conversation/whatsapp/${channel.id}/${a}`);

  // An entry for another number of the same app is acknowledged, recorded, and not routed.
  const other = { phoneNumberId: digits(15), displayPhoneNumber: '15550000000', wabaId: '1' };
  const foreign = waWebhook([{ wabaId: '1', changes: [waChange(other, { contacts: [{ wa_id: a }], messages: [{ from: a, id: 'wamid.foreign', timestamp: '1700000000', type: 'text', text: { body: 'not yours' } }] })] }]);
  const r = await meta.deliver(id, foreign);
  expect([r.status, JSON.parse(r.body).ignored]).toEqual([200, 1]);
  expect(await stack.db('ignored_events').where({ channel_id: channel.id, reason: 'not_for_this_channel' }).select('platform_event_id')).toEqual([{ platform_event_id: 'wamid.foreign' }]);
  expect(await platformIdsOf(channel.id)).not.toContain('wamid.foreign');
});

test('one unreadable message in a POST is recorded as unparseable; the good ones beside it arrive', async () => {
  const { apiKey, channel, id } = await metaChannel(stack, meta, 'whatsapp');
  const from = digits(11);
  const business = { phoneNumberId: id, displayPhoneNumber: '15550000000', wabaId: '1' };
  const text = (wamid: string, body: string) => ({ from, id: wamid, timestamp: '1700000000', type: 'text', text: { body } });
  const bad = { from, timestamp: '1700000000', type: 'text', text: { body: 'a message without an id' } };
  const payload = waWebhook([{ wabaId: '1', changes: [waChange(business, { contacts: [{ wa_id: from }], messages: [text('wamid.one', 'one'), bad, text('wamid.two', 'two')] })] }]);
  const r = await meta.deliver(id, payload);
  // Before: 400 for the whole POST, which Meta redelivers for days, and 'one' and 'two' never arrive.
  expect([r.status, JSON.parse(r.body)]).toEqual([200, { ok: true, messages: 2, statuses: 0, ignored: 1 }]);
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from, 2);
  expect((await box.messagesOf(conv.id)).map((m) => m.content)).toEqual(['one', 'two']);
  const rows = await stack.db('ignored_events').where({ channel_id: channel.id });
  expect(rows).toEqual([
    expect.objectContaining({ reason: 'unparseable', payload: { item: bad, issues: [{ path: 'entry.0.changes.0.value.messages.1.id', message: expect.any(String) }] } }),
  ]);
  // A redelivery records it once.
  expect((await meta.deliver(id, payload)).status).toBe(200);
  expect(await countRows('ignored_events', { channel_id: channel.id })).toBe(1);
});

test('every message kind is stored; media is fetched through the Graph API on demand', async () => {
  const { apiKey, id } = await metaChannel(stack, meta, 'whatsapp');
  const from = digits(11);
  const photo = Buffer.from('\xff\xd8\xff pretend jpeg', 'latin1');
  const kinds = [
    { kind: 'text', text: 'hello' },
    { kind: 'image', text: 'a photo', bytes: photo, mimeType: 'image/jpeg' },
    { kind: 'video' }, { kind: 'audio' }, { kind: 'voice' }, { kind: 'document', text: 'the invoice', fileName: 'invoice.pdf' },
    { kind: 'sticker' }, { kind: 'location', text: 'Home' }, { kind: 'contacts', text: 'Chandler Bing' },
    { kind: 'reaction', reactTo: 'wamid.earlier', emoji: '👍' }, { kind: 'button_reply', text: 'Yes' }, { kind: 'list_reply', text: 'Option B' },
    { kind: 'quick_reply', text: 'Stop' }, { kind: 'unsupported' }, { kind: 'text', text: 'quoting', replyTo: 'wamid.earlier' },
  ] as const;
  await meta.customerSendsWhatsapp(id, kinds.map((k) => ({ from, name: 'Kim', ...k })));
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from, kinds.length);
  const msgs = await box.messagesOf(conv.id);
  expect(msgs.map((m) => [m.content_type, m.content])).toEqual([
    ['text', 'hello'], ['image', 'a photo'], ['video', ''], ['audio', ''], ['voice', ''], ['document', 'the invoice'],
    ['sticker', ''], ['location', 'Home, 1 Hacker Way, Menlo Park, CA 94025'], ['contacts', 'Chandler Bing'],
    ['reaction', '👍'], ['button_reply', 'Yes'], ['list_reply', 'Option B'], ['button_reply', 'Stop'], ['unsupported', ''], ['text', 'quoting'],
  ]);
  expect(msgs[9].metadata).toMatchObject({ reacted_to_message_id: 'wamid.earlier' });
  expect(msgs[13].metadata).toMatchObject({ whatsapp_type: 'unsupported', unsupported_type: 'poll' });
  expect(msgs[14].metadata).toMatchObject({ reply_to_message_id: 'wamid.earlier' });
  expect(msgs[5].attachments[0]).toMatchObject({ type: 'document', fileName: 'invoice.pdf', mimeType: 'application/pdf', platformFileId: expect.any(String) });

  const media = await fetch(`${stack.url}/api/conversations/${conv.id}/messages/${msgs[1].id}/attachments/0`, { headers: { authorization: `Bearer ${apiKey}` } });
  const headers = (r: Response) => ['content-type', 'content-disposition', 'x-content-type-options'].map((h) => r.headers.get(h));
  expect([media.status, ...headers(media)]).toEqual([200, 'image/jpeg', 'inline', 'nosniff']);
  expect(Buffer.from(await media.arrayBuffer()).equals(photo)).toBe(true);
  // Anything but images, audio and video is a download, never rendered on PingBack's origin.
  const doc = await fetch(`${stack.url}/api/conversations/${conv.id}/messages/${msgs[5].id}/attachments/0`, { headers: { authorization: `Bearer ${apiKey}` } });
  expect([doc.status, ...headers(doc)]).toEqual([200, 'application/pdf', 'attachment; filename="invoice.pdf"', 'nosniff']);
  expect((await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages/${msgs[0].id}/attachments/0`, { token: apiKey })).status).toBe(404);
  meta.failNext('server_error', { on: 'media' });
  const outage = await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages/${msgs[1].id}/attachments/0`, { token: apiKey });
  expect([outage.status, outage.body.error.code]).toEqual([503, 'platform_unavailable']);
});

test('a redelivered message is stored once', async () => {
  const { apiKey, id } = await metaChannel(stack, meta, 'whatsapp');
  const from = digits(11);
  const first = await meta.customerSendsWhatsapp(id, { from, text: 'only once please' });
  expect((await meta.deliver(id, first.payload)).status).toBe(200);
  expect((await meta.deliver(id, first.payload)).status).toBe(200);
  await meta.customerSendsWhatsapp(id, { from, text: 'second' });
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from, 2);
  // The later message arriving proves the duplicates were processed before it.
  expect((await box.messagesOf(conv.id)).map((m) => m.content)).toEqual(['only once please', 'second']);
});

test('statuses move a reply forward only, in or out of order; unknown ones are recorded', async () => {
  const { apiKey, channel, id } = await metaChannel(stack, meta, 'whatsapp');
  const from = digits(11);
  await meta.customerSendsWhatsapp(id, { from, name: 'Dee', text: 'where is my order?' });
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from);
  const [question] = await box.messagesOf(conv.id);

  const r1 = await box.reply(conv.id, { content: 'On its way!', reply_to_message_id: question.id });
  expect([r1.status, r1.body.metadata]).toEqual([202, { reply_to_message_id: question.id, reply_to_platform_message_id: question.platform_message_id }]);
  const sent1 = await box.messageIn(conv.id, r1.body.id, ['sent']);
  const wamid1 = sent1.platform_message_id;
  expect(meta.sentMessages({ to: from })).toEqual([expect.objectContaining({ id: wamid1, text: 'On its way!', replyTo: question.platform_message_id })]);

  await meta.sendStatuses(wamid1, ['delivered']);
  await box.messageIn(conv.id, r1.body.id, ['delivered']);
  // Out of order: read, then a late sent and delivered. Read stays.
  await meta.sendStatuses(wamid1, ['read', 'sent', 'delivered']);
  await box.messageIn(conv.id, r1.body.id, ['read']);

  const r2 = await box.reply(conv.id, { content: 'Tracking: 123' });
  const wamid2 = (await box.messageIn(conv.id, r2.body.id, ['sent'])).platform_message_id;
  await meta.sendStatuses(wamid2, [{ status: 'failed' }]);
  const failed = await box.messageIn(conv.id, r2.body.id, ['failed']);
  expect(failed.error).toMatch(/^\(#131047\) Re-engagement message: Message failed to send because more than 24 hours/);
  // Statuses are applied in order: r2's failure came after r1's late ones, which changed nothing.
  expect((await box.messagesOf(conv.id)).find((m) => m.id === r1.body.id).status).toBe('read');

  // A status for a wamid PingBack never sent, in this conversation and in none.
  await meta.sendStatuses('wamid.not-ours', ['delivered'], { phoneNumberId: id, recipient: from });
  await meta.sendStatuses('wamid.nobody', ['read'], { phoneNumberId: id, recipient: digits(11) });
  const ignored = await eventually(async () => {
    const rows = await stack.db('ignored_events').where({ channel_id: channel.id, reason: 'unknown_message' }).orderBy('platform_event_id');
    return rows.length === 2 ? rows : undefined;
  });
  expect(ignored.map((r) => r.platform_event_id)).toEqual(['wamid.nobody:read', 'wamid.not-ours:delivered']);

  const bad = await box.reply(conv.id, { content: 'x', reply_to_message_id: '00000000-0000-4000-8000-000000000000' });
  expect([bad.status, bad.body.error.details.fields[0].path]).toEqual([422, 'reply_to_message_id']);
});

test('outside the 24-hour window the reply fails at once with Meta\'s reason', async () => {
  const { apiKey, id } = await metaChannel(stack, meta, 'whatsapp');
  const from = digits(11);
  await meta.customerSendsWhatsapp(id, { from, text: 'hello' });
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from);
  meta.advanceClock(25 * 3600_000);
  try {
    const r = await box.reply(conv.id, { content: 'sorry for the wait' });
    const out = await box.messageIn(conv.id, r.body.id, ['failed']);
    expect(out.error).toBe(
      '(#131047) Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number.' +
        ' — the customer has not written in the last 24 hours; a free-form reply is possible once they write again (or send an approved template)',
    );
    expect(out.attempts).toBe(1);
    expect(meta.sentMessages({ to: from })).toEqual([]);
  } finally {
    meta.advanceClock(-25 * 3600_000);
  }
});

test('a rate limit is retried, then the reply is sent once', async () => {
  const { apiKey, id } = await metaChannel(stack, meta, 'whatsapp');
  const from = digits(11);
  await meta.customerSendsWhatsapp(id, { from, text: 'hi' });
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from);
  meta.failNext('rate_limit');
  const r = await box.reply(conv.id, { content: 'after the limit' });
  const out = await box.messageIn(conv.id, r.body.id, ['sent']);
  expect(out.attempts).toBe(2);
  expect(meta.calls(`/${id}/messages`).map((c) => c.status)).toEqual([400, 200]);
  expect(meta.sentMessages({ to: from })).toHaveLength(1);
});

test('an expired token: the channel asks to be reconnected, replies written meanwhile wait and go out in order, once each, after a new token is saved', async () => {
  const { apiKey, channel, id, accessToken, appSecret } = await metaChannel(stack, meta, 'whatsapp');
  const [from, other] = [digits(11), digits(11)];
  await meta.customerSendsWhatsapp(id, [{ from, text: 'hi' }, { from: other, text: 'hello' }]);
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from);
  const otherConv = await box.conversationFor(other);
  meta.expireToken(accessToken);
  const r = await box.reply(conv.id, { content: 'hello?' });
  const out = await box.messageIn(conv.id, r.body.id, ['waiting_for_channel']);
  expect(out.error).toMatch(/^waiting for the channel to be reconnected: \(#190\) Error validating access token: Session has expired on .* — update the channel's access token$/);
  const ch = await eventually(async () => {
    const c = await request(stack.url, 'GET', `/api/channels/${channel.id}`, { token: apiKey });
    return c.body.status === 'reconnect_required' ? c.body : undefined;
  });
  expect(ch.status_message).toMatch(/^credentials rejected: \(#190\) Error validating access token.*; update the channel's credentials to reconnect it$/);
  expect(Date.now() - new Date(ch.reconnect_required_at).getTime()).toBeLessThan(60_000);
  expect(JSON.stringify(ch)).not.toContain(accessToken);
  // Every conversation of the channel says so; replies are still taken, and wait without asking Meta again.
  expect((await request(stack.url, 'GET', `/api/conversations/${otherConv.id}`, { token: apiKey })).body).toMatchObject({ can_reply: false, reply_blocked_reason: 'reconnect_required' });
  const sends = meta.calls(`/${id}/messages`).length;
  const second = await box.reply(conv.id, { content: 'still there?' });
  const elsewhere = await box.reply(otherConv.id, { content: 'for you too' });
  await box.messageIn(otherConv.id, elsewhere.body.id, ['waiting_for_channel']);
  expect(meta.calls(`/${id}/messages`).length).toBe(sends);
  expect(stack.log.lines.filter((l) => l.includes('channel needs reconnecting')).length).toBeLessThanOrEqual(1);

  // A new token saved with PATCH is checked with Meta, and the channel is connected again.
  const renewed = `${accessToken}-renewed`;
  meta.addWhatsappNumber({ phoneNumberId: id, accessToken: renewed, appSecret });
  expect((await request(stack.url, 'PATCH', `/api/channels/${channel.id}`, { token: apiKey, json: { config: { access_token: renewed } } })).status).toBe(200);
  expect(await channelChecked(stack, apiKey, channel.id)).toMatchObject({ status: 'connected', status_message: expect.stringMatching(/^connected as /), reconnect_required_at: null });
  const again = await box.reply(conv.id, { content: 'back again' });
  await box.messageIn(conv.id, again.body.id, ['sent']);
  await box.messageIn(otherConv.id, elsewhere.body.id, ['sent']);
  expect(meta.sentMessages({ to: from }).map((m) => m.text)).toEqual(['hello?', 'still there?', 'back again']);
  expect(meta.sentMessages({ to: other }).map((m) => m.text)).toEqual(['for you too']);
  expect((await box.messagesOf(conv.id)).find((m) => m.id === second.body.id).status).toBe('sent');
  expect(stack.log.lines.join('\n')).not.toMatch(new RegExp(`${accessToken}|${renewed}`));
});

test('an inactive channel acknowledges webhooks and records them, routing nothing', async () => {
  const { apiKey, channel, id } = await metaChannel(stack, meta, 'whatsapp');
  expect((await request(stack.url, 'PATCH', `/api/channels/${channel.id}`, { token: apiKey, json: { is_active: false } })).status).toBe(200);
  const r = await meta.customerSendsWhatsapp(id, { from: digits(11), text: 'anyone?' });
  expect([r.status, JSON.parse(r.body)]).toEqual([200, { ok: true, ignored: 'channel_inactive' }]);
  expect(await countRows('ignored_events', { channel_id: channel.id, reason: 'channel_inactive' })).toBe(1);
  expect(await conversationRows(channel.id)).toBe(0);
});

test('a reply waiting for its channel fails once it has waited too long; deactivating the channel fails the rest', async () => {
  const { apiKey, channel, id, accessToken } = await metaChannel(stack, meta, 'whatsapp');
  const from = digits(11);
  await meta.customerSendsWhatsapp(id, { from, text: 'hi' });
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from);
  meta.expireToken(accessToken);
  const old = await box.reply(conv.id, { content: 'from yesterday' });
  await box.messageIn(conv.id, old.body.id, ['waiting_for_channel']);
  const next = await box.reply(conv.id, { content: 'from today' });
  // A day goes by with nobody reconnecting it (PARKED_REPLY_MAX_AGE_HOURS, 24 by default).
  await stack.db('messages').where({ id: old.body.id }).update({ parked_at: stack.db.raw("now() - interval '25 hours'") });
  const failed = await box.messageIn(conv.id, old.body.id, ['failed']);
  expect(failed.error).toBe('not sent: the channel waited more than 24 hours to be reconnected, and a reply that late is not sent');
  await box.messageIn(conv.id, next.body.id, ['waiting_for_channel']);
  expect((await request(stack.url, 'PATCH', `/api/channels/${channel.id}`, { token: apiKey, json: { is_active: false } })).status).toBe(200);
  expect((await box.messageIn(conv.id, next.body.id, ['failed'])).error).toMatch(/^channel_inactive/);
  expect(meta.sentMessages({ to: from })).toEqual([]);
});

test("an agent's files reach the customer: uploaded to the number's media store, then an image with the reply as its caption and a document by its name, the same bytes", async () => {
  const { apiKey, id } = await metaChannel(stack, meta, 'whatsapp');
  const from = digits(11);
  await meta.customerSendsWhatsapp(id, { from, text: 'the quote please' });
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from);
  const upload = (bytes: Buffer, type: string, name: string) => agentUpload(stack, apiKey, conv.id, bytes, type, name);
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(5000)]);
  const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(30_000)]);
  const r = await box.reply(conv.id, { content: 'Here is the quote', attachments: [await upload(png, 'image/png', 'plan.png'), await upload(pdf, 'application/pdf', 'quote.pdf')] });
  expect(r.status).toBe(202);
  const out = await box.messageIn(conv.id, r.body.id, ['sent']);
  const sent = meta.sentMessages({ to: from });
  expect(sent.map((m) => [m.file?.kind, m.file?.name, m.text])).toEqual([
    ['image', undefined, 'Here is the quote'],
    ['document', 'quote.pdf', ''],
  ]);
  expect(sent[0].file!.bytes.equals(png)).toBe(true);
  expect(sent[1].file!.bytes.equals(pdf)).toBe(true);
  expect(out.platform_message_id).toBe(sent[0].id);
  expect(meta.calls(`/${id}/media`).map((c) => c.status)).toEqual([200, 200]);

  // A type WhatsApp takes as no kind of message is refused when the reply is written, naming the file.
  const gif = await box.reply(conv.id, { content: 'and this', attachments: [await upload(Buffer.from('GIF89a...'), 'image/gif', 'dance.gif')] });
  expect(gif.status).toBe(422);
  expect(gif.body.error).toMatchObject({ code: 'file_not_accepted', message: expect.stringMatching(/^dance\.gif: WhatsApp does not take image\/gif files/) });

  // Meta fails the document afterwards (a status about the reply's second message): the reply is
  // failed naming it, and Retry sends that document again, not the image the customer has.
  await meta.sendStatuses(sent[0].id, ['delivered']);
  await meta.sendStatuses(sent[1].id, ['delivered', { status: 'failed' }]);
  const failed = await box.messageIn(conv.id, r.body.id, ['failed']);
  expect(failed.error).toMatch(/^quote\.pdf: /);
  expect((await request(stack.url, 'POST', `/api/messages/${r.body.id}/retry`, { token: apiKey })).status).toBe(202);
  const again = await box.messageIn(conv.id, r.body.id, ['sent']);
  const resent = meta.sentMessages({ to: from });
  expect(resent.map((m) => m.file?.kind)).toEqual(['image', 'document', 'document']);
  expect(resent[2].file!.bytes.equals(pdf)).toBe(true);
  expect(again.platform_message_id).toBe(sent[0].id);
  // The old document's failure, told again, changes nothing; the new one's reaches the reply.
  await meta.sendStatuses(sent[1].id, [{ status: 'failed' }]);
  await meta.sendStatuses(sent[0].id, ['read']);
  expect((await box.messageIn(conv.id, r.body.id, ['read'])).status).toBe('read');
  await meta.sendStatuses(resent[2].id, [{ status: 'failed' }]);
  expect((await box.messageIn(conv.id, r.body.id, ['failed'])).error).toMatch(/^quote\.pdf: /);

  // Both files failed: the reply names both, and Retry sends both again.
  const two = await box.reply(conv.id, { content: 'again', attachments: [await upload(png, 'image/png', 'a.png'), await upload(pdf, 'application/pdf', 'b.pdf')] });
  await box.messageIn(conv.id, two.body.id, ['sent']);
  const [img, doc] = meta.sentMessages({ to: from }).slice(-2);
  await meta.sendStatuses(doc.id, [{ status: 'failed' }]);
  await meta.sendStatuses(img.id, [{ status: 'failed' }]);
  await eventually(async () => ((await box.messageIn(conv.id, two.body.id, ['failed'])).error?.startsWith('b.pdf, a.png: ') ? true : undefined), 30_000, 'both files named');
  const before = meta.sentMessages({ to: from }).length;
  expect((await request(stack.url, 'POST', `/api/messages/${two.body.id}/retry`, { token: apiKey })).status).toBe(202);
  await box.messageIn(conv.id, two.body.id, ['sent']);
  expect(meta.sentMessages({ to: from }).slice(before).map((m) => m.file?.kind)).toEqual(['image', 'document']);

  // A reply of one message that Meta fails afterwards goes again whole.
  const one = await box.reply(conv.id, { content: 'just text' });
  const oneSent = await box.messageIn(conv.id, one.body.id, ['sent']);
  await meta.sendStatuses(oneSent.platform_message_id, [{ status: 'failed' }]);
  await box.messageIn(conv.id, one.body.id, ['failed']);
  expect((await request(stack.url, 'POST', `/api/messages/${one.body.id}/retry`, { token: apiKey })).status).toBe(202);
  await box.messageIn(conv.id, one.body.id, ['sent']);
  expect(meta.sentMessages({ to: from }).filter((m) => m.text === 'just text')).toHaveLength(2);
});
