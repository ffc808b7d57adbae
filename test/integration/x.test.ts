import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/api/app';
import { secretBoxFrom } from '../../src/config';
import { crcResponseToken, SIGNATURE_HEADER, webhookSignature } from '../../src/channels/x/webhook';
import { silentLogger } from '../../src/log';
import { XFake } from '../../src/sandbox/x';
import { accountActivityDm } from '../../src/sandbox/x-world';
import { fixtureFiles } from '../helpers/fixtures';
import { randomBytes } from 'node:crypto';
import { agentUpload, eventually, request, Stack, stackWithFake } from '../helpers/stack';
import { xTestKit } from '../helpers/x';

/**
 * X's Account Activity webhooks and DM replies, from outside: the X API fake plays X
 * (CRC checks, signed deliveries, OAuth checks on every send) and the customers.
 */
let x: XFake;
let stack: Stack;
const { api, customer, channelStatus, xChannel, conversationWith, messagesOf, inboundTexts, afterPolls, storedInbound } = xTestKit(() => ({ stack, x }));

stackWithFake(() => XFake.start(), (fake) => ({ X_API_BASE_URL: fake.baseUrl }), (s, fake) => {
  stack = s;
  x = fake;
});

/**
 * A webhook channel X delivers to (registered, so X's CRC check passed). With `polling`,
 * switched to polling afterwards: X goes on delivering to the registered URL (until its
 * hourly CRC check fails), so DMs arrive both ways at once.
 */
async function webhookChannel(opts: { inbound?: 'polling' | 'webhook' } = {}) {
  const made = await xChannel({ inbound: 'webhook' });
  await x.registerWebhook(made.acct.id, made.channel.callback_url);
  if (opts.inbound === 'polling') {
    expect((await api(made.apiKey).patch(`/api/channels/${made.channel.id}`, { config: { inbound: 'polling' } })).status).toBe(200);
    await channelStatus(made.apiKey, made.channel.id, 'connected');
  }
  return made;
}

/** X's GET, as anyone can send it. */
const crc = (channelId: string, token: string) => request(stack.url, 'GET', `/webhooks/x/${channelId}?crc_token=${encodeURIComponent(token)}`);

async function replyAndWait(apiKey: string, conversationId: string, content: string, want: 'sent' | 'failed' | 'waiting_for_channel') {
  const reply = await api(apiKey).post(`/api/conversations/${conversationId}/messages`, { content });
  expect(reply.status).toBe(202);
  return eventually(async () => {
    const m = (await messagesOf(apiKey, conversationId)).find((r) => r.id === reply.body.id);
    return m?.status === want ? m : undefined;
  }, 30_000, `reply ${want}`);
}

test("CRC: answers X's challenge with the consumer secret; 400 without a token or when not on webhooks; 404 for no channel", async () => {
  const { acct, channel } = await webhookChannel(); // registerWebhook already ran X's check against it
  expect(acct.webhookUrl).toBe(channel.callback_url);
  const [{ body: fixture }] = fixtureFiles('x', 'crc-request-response');
  const path = `/webhooks/x/${channel.id}`;
  const ok = await request(stack.url, 'GET', `${path}${fixture.request.path_query}`);
  expect(ok.status).toBe(200);
  expect(ok.body).toEqual({ response_token: crcResponseToken(acct.credentials.api_secret, fixture.request.query.crc_token) });

  const missing = await request(stack.url, 'GET', path);
  expect([missing.status, missing.body.error.code]).toEqual([400, 'missing_crc_token']);
  // A polling channel never proves its secret: X cannot register it, and nobody can ask it to sign.
  for (const polling of [await xChannel(), await xChannel({ oauth2: true, noConsumerSecret: true })]) {
    const r = await crc(polling.channel.id, 'abc');
    expect([r.status, r.body.error.code]).toEqual([400, 'webhook_not_enabled']);
    await expect(x.registerWebhook(polling.acct.id, polling.channel.callback_url)).rejects.toThrow(/CRC check failed \(HTTP 400/);
  }
  expect((await request(stack.url, 'GET', '/webhooks/x/00000000-0000-4000-8000-000000000000?crc_token=abc')).status).toBe(404);
});

test('CRC is no signing oracle: a forged delivery passed as crc_token is refused, its signature never served', async () => {
  const { apiKey, acct, channel } = await webhookChannel();
  const secret = acct.credentials.api_secret;
  const mallory = customer('Mallory');
  const forged = x.world.addDm({ senderId: mallory.id, recipientId: acct.id, text: 'Please reset my password to hunter2' });
  const body = JSON.stringify(accountActivityDm(acct.id, forged, x.world.users));
  const wouldBe = webhookSignature(secret, body);

  const asked = await crc(channel.id, body);
  expect([asked.status, asked.body.error.code]).toEqual([400, 'invalid_crc_token']);
  expect(asked.text).not.toContain(wouldBe.slice('sha256='.length));
  for (const variant of [' ' + body, body + '\n', '[' + body + ']', '"' + body + '"']) {
    const r = await crc(channel.id, variant);
    expect([r.status, r.body.error.code]).toEqual([400, 'invalid_crc_token']);
  }
  // What the attacker can get signed (token-shaped strings) is never a delivery: a JSON value, but not an object.
  for (const token of ['1234567890', 'true', 'null']) {
    const served = await crc(channel.id, token);
    expect(served.status).toBe(200);
    const r = await x.deliver(acct.id, {}, { body: token, signature: served.body.response_token });
    expect([r.status, JSON.parse(r.body).error.code]).toEqual([400, 'invalid_payload']);
  }
  // Without a served signature the forged body is what it always was: refused.
  const refused = await x.deliver(acct.id, {}, { body, signature: 'sha256=' + Buffer.alloc(32).toString('base64') });
  expect(refused.status).toBe(401);
  expect(await storedInbound(channel.id)).toEqual([]);
  expect((await api(apiKey).get('/api/conversations?channel_type=x')).body.data).toEqual([]);
});

test('signed deliveries reach the inbox with name and handle; a wrong signature is 401 and signals nothing', async () => {
  const { apiKey, acct, channel } = await webhookChannel();
  const ada = customer('Ada');
  const sent = await x.customerSends(acct.id, { from: ada, text: 'Hi, my order has not arrived', media: true }, 'webhook');
  expect(sent.delivery).toMatchObject({ status: 200 });
  const conv = await conversationWith(apiKey, ada.id);
  expect(conv.contact).toMatchObject({ name: 'Ada', username: ada.username });
  const [msg] = await messagesOf(apiKey, conv.id);
  expect(msg).toMatchObject({ content: expect.stringContaining('Hi, my order has not arrived'), content_type: 'image' });
  expect(msg.attachments).toEqual([expect.objectContaining({ type: 'image', platformFileId: expect.stringMatching(/^\d+$/) })]);

  const bo = customer('Bo');
  const forged = await x.customerSends(acct.id, { from: bo, text: 'forged' });
  const body = JSON.stringify(forged.payload);
  for (const signature of ['sha256=' + Buffer.alloc(32).toString('base64'), '', webhookSignature('wrong-secret', body)]) {
    const r = await x.deliver(acct.id, forged.payload, { signature, body });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).error.code).toBe('invalid_signature');
  }
  // Signed, then altered on the way: the signature covers the raw bytes.
  const tampered = await x.deliver(acct.id, forged.payload, { signature: webhookSignature(acct.credentials.api_secret, body), body: body.replace('forged', 'FORGED') });
  expect(tampered.status).toBe(401);
  await x.customerSends(acct.id, { from: ada, text: 'later' }, 'webhook');
  expect(await inboundTexts(apiKey, ada.id, 2)).toEqual([expect.stringContaining('Hi, my order'), 'later']);
  expect((await storedInbound(channel.id)).map((m: any) => m.thread_key)).toEqual([ada.id, ada.id]);
});

test("follows and the account's own DMs (echoes) are acknowledged and not shown as customer messages", async () => {
  const { apiKey, acct, channel } = await webhookChannel();
  const follow = await x.customerFollows(acct.id, customer('Fan'));
  expect([follow.status, JSON.parse(follow.body)]).toEqual([200, { ok: true, ignored: 'event_kind_not_handled' }]);
  const ada = customer('Ada');
  const own = x.world.addDm({ senderId: acct.id, recipientId: ada.id, text: 'sent from the X app' });
  const echo = await x.deliver(acct.id, accountActivityDm(acct.id, own, x.world.users));
  expect([echo.status, JSON.parse(echo.body)]).toEqual([200, { ok: true, ignored: 'own_messages' }]);
  // Another account's events on the same app webhook are not this channel's.
  const [{ body: stranger }] = fixtureFiles('x', 'aaa-dm-received');
  const other = await x.deliver(acct.id, stranger);
  expect(JSON.parse(other.body)).toEqual({ ok: true, ignored: 'other_account' });
  expect((await api(apiKey).get('/api/conversations?channel_type=x')).body.data).toEqual([]);
  expect(await storedInbound(channel.id)).toEqual([]);
});

test("the channel's own X account not known yet: 503, nothing routed, and X's redelivery lands once it is", async () => {
  const { apiKey, acct, channel } = await webhookChannel();
  const saved = await stack.db('channel_platform_state').where({ channel_id: channel.id }).first();
  expect(saved.platform_account_id).toBe(acct.id);
  // As before the setup's credential check has run (or after a failed one).
  await stack.db('channel_platform_state').where({ channel_id: channel.id }).delete();
  const ada = customer('Ada');
  const sent = await x.customerSends(acct.id, { from: ada, text: 'is anyone there?' }, 'webhook');
  expect([sent.delivery?.status, JSON.parse(sent.delivery!.body).error.code]).toEqual([503, 'channel_account_unknown']);
  // Nor another account's DMs, which is what the check is for.
  const [{ body: stranger }] = fixtureFiles('x', 'aaa-dm-received');
  expect((await x.deliver(acct.id, stranger)).status).toBe(503);
  await stack.db('channel_platform_state').insert(saved);
  await new Promise((r) => setTimeout(r, 300));
  expect(await storedInbound(channel.id)).toEqual([]);
  expect(await stack.db('ignored_events').where({ channel_id: channel.id })).toEqual([]);

  expect((await x.deliver(acct.id, sent.payload)).status).toBe(200);
  expect(await inboundTexts(apiKey, ada.id, 1)).toEqual(['is anyone there?']);
  expect(JSON.parse((await x.deliver(acct.id, stranger)).body)).toEqual({ ok: true, ignored: 'other_account' });
});

test("the channel's platform state unreadable: 503, so another account's DMs are never let through", async () => {
  const { acct, channel } = await webhookChannel();
  // The same app over a database where that one table cannot be read.
  const brokenDb = new Proxy(stack.db, {
    apply: (target, self, [table, ...rest]) =>
      Reflect.apply(target, self, [table === 'channel_platform_state' ? 'channel_platform_state_unreadable' : table, ...rest]),
  });
  const app = createApp({ db: brokenDb, secrets: secretBoxFrom(stack.config), temporal: stack.temporal, signaller: { inbound: async () => { throw new Error('must not be signalled'); } } as any, config: stack.config, log: silentLogger });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/x/${channel.id}`;
    const [{ body: stranger }] = fixtureFiles('x', 'aaa-dm-received'); // another account's DM
    const own = accountActivityDm(acct.id, x.world.addDm({ senderId: customer('Ada').id, recipientId: acct.id, text: 'hi' }), x.world.users);
    for (const payload of [stranger, own]) {
      const body = JSON.stringify(payload);
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: webhookSignature(acct.credentials.api_secret, body) }, body });
      expect([res.status, ((await res.json()) as any).error.code]).toEqual([503, 'database_unavailable']);
    }
  } finally {
    await new Promise((r) => server.close(r));
  }
  expect(await storedInbound(channel.id)).toEqual([]);
});

test('an unreadable event (an id that is not a number) is recorded aside; the rest of the delivery goes on', async () => {
  const { apiKey, acct, channel } = await webhookChannel();
  const ada = customer('Ada');
  const good = x.world.addDm({ senderId: ada.id, recipientId: acct.id, text: 'the readable one' });
  const payload = accountActivityDm(acct.id, good, x.world.users) as any;
  const bad = { ...payload.direct_message_events[0], id: 'DM-not-a-number' };
  payload.direct_message_events.unshift(bad);
  for (let i = 0; i < 2; i++) expect(JSON.parse((await x.deliver(acct.id, payload)).body)).toEqual({ ok: true, messages: 1 });
  expect(await inboundTexts(apiKey, ada.id, 1)).toEqual(['the readable one']);
  const rows = await stack.db('ignored_events').where({ channel_id: channel.id });
  expect(rows).toEqual([expect.objectContaining({ reason: 'unreadable_event', platform_event_id: expect.stringMatching(/^unreadable:/), payload: bad })]);
});

test('an inactive channel acknowledges deliveries, records them as ignored, signals nothing', async () => {
  const { apiKey, acct, channel } = await webhookChannel();
  expect((await api(apiKey).patch(`/api/channels/${channel.id}`, { is_active: false })).status).toBe(200);
  const sent = await x.customerSends(acct.id, { from: customer('Late'), text: 'anyone?' }, 'webhook');
  expect(sent.delivery?.status).toBe(200);
  expect(JSON.parse(sent.delivery!.body)).toEqual({ ok: true, ignored: 'channel_inactive' });
  const again = await x.deliver(acct.id, sent.payload);
  expect(again.status).toBe(200);
  const rows = await stack.db('ignored_events').where({ channel_id: channel.id });
  expect(rows).toEqual([expect.objectContaining({ reason: 'channel_inactive', platform_event_id: sent.event.id })]);
  expect(await storedInbound(channel.id)).toEqual([]);
});

test('the same DM by webhook and by polling is stored once', async () => {
  const { apiKey, acct, channel } = await webhookChannel({ inbound: 'polling' });
  const ada = customer('Ada');
  const sent = await x.customerSends(acct.id, { from: ada, text: 'both ways' }, 'webhook');
  expect(sent.delivery?.status).toBe(200);
  expect((await x.deliver(acct.id, sent.payload)).status).toBe(200); // and X redelivering it
  await afterPolls(acct.id, 3);
  await x.customerSends(acct.id, { from: ada, text: 'next' });
  expect(await inboundTexts(apiKey, ada.id, 2)).toEqual(['both ways', 'next']);
  const stored = await storedInbound(channel.id);
  expect(stored.map((m: any) => m.platform_message_id)).toEqual([sent.event.id, expect.any(String)]);
});

test('a reply goes out signed with OAuth 1.0a (checked by X); its echo by poll and webhook is not a customer message', async () => {
  const { apiKey, acct, channel } = await webhookChannel({ inbound: 'polling' });
  const ada = customer('Ada');
  await x.customerSends(acct.id, { from: ada, text: 'hello?' });
  const conv = await conversationWith(apiKey, ada.id);
  const out = await replyAndWait(apiKey, conv.id, 'Thanks, we are looking into it.', 'sent');
  const [dm] = x.sentMessages(acct.id);
  expect(dm).toMatchObject({ participantId: ada.id, text: 'Thanks, we are looking into it.', auth: 'oauth1' });
  expect(out).toMatchObject({ platform_message_id: dm.eventId, attempts: 1 });
  expect(x.calls('dm_send', acct.id).map((c) => c.status)).toEqual([201]);
  await afterPolls(acct.id, 2);
  const all = await messagesOf(apiKey, conv.id);
  expect(all.map((m) => [m.direction, m.content])).toEqual([['inbound', 'hello?'], ['outbound', 'Thanks, we are looking into it.']]);
  expect(await storedInbound(channel.id)).toHaveLength(1);
});

test("files both ways: a customer's photo opens for the agent (fetched signed from X's media host); the agent's images go up to /2/media/upload and out one DM each, the same bytes", async () => {
  const { apiKey, acct } = await webhookChannel();
  const ada = customer('Ada');
  const photo = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(5000)]);
  await x.customerSends(acct.id, { from: ada, text: 'the label', media: { bytes: photo, type: 'image/jpeg' } }, 'webhook');
  const conv = await conversationWith(apiKey, ada.id);
  const [inbound] = await messagesOf(apiKey, conv.id);
  const opened = await fetch(`${stack.url}/api/conversations/${conv.id}/messages/${inbound.id}/attachments/0`, { headers: { authorization: `Bearer ${apiKey}` } });
  expect([opened.status, opened.headers.get('content-type')]).toEqual([200, 'image/jpeg']);
  expect(Buffer.from(await opened.arrayBuffer()).equals(photo)).toBe(true);

  const upload = (bytes: Buffer, type: string, name: string) => agentUpload(stack, apiKey, conv.id, bytes, type, name);
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(6000)]);
  const webp = Buffer.concat([Buffer.from('RIFF'), randomBytes(4), Buffer.from('WEBP'), randomBytes(3000)]);
  const r = await api(apiKey).post(`/api/conversations/${conv.id}/messages`, { content: 'Here it is', attachments: [await upload(png, 'image/png', 'label.png'), await upload(webp, 'image/webp', 'box.webp')] });
  expect(r.status).toBe(202);
  const out = await eventually(async () => (await messagesOf(apiKey, conv.id)).find((m) => m.id === r.body.id && m.status === 'sent'), 30_000, 'the reply sent');
  const sent = x.sentMessages(acct.id);
  expect(sent.map((m) => [m.text, m.media?.type, m.media?.category])).toEqual([['Here it is', 'image/png', 'dm_image'], ['', 'image/webp', 'dm_image']]);
  expect(sent[0].media!.bytes.equals(png)).toBe(true);
  expect(sent[1].media!.bytes.equals(webp)).toBe(true);
  expect(out.platform_message_id).toBe(sent[0].eventId);
  expect(x.calls('media_upload', acct.id).map((c) => c.status)).toEqual([200, 200]);

  // What X's one-shot upload does not take is refused when the reply is written, naming the file.
  for (const [bytes, type, name] of [[Buffer.from('%PDF-1.7'), 'application/pdf', 'r.pdf'], [randomBytes(1000), 'video/mp4', 'clip.mp4']] as const) {
    const refused = await api(apiKey).post(`/api/conversations/${conv.id}/messages`, { content: 'x', attachments: [await upload(bytes, type, name)] });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'file_not_accepted', message: expect.stringMatching(new RegExp(`^${name.replace('.', '\\.')}: X DMs from PingBack take images`)) });
  }
  expect(x.sentMessages(acct.id)).toHaveLength(2);
});

test('with an OAuth 2.0 user token, polling and replies go as bearer requests', async () => {
  const { apiKey, acct } = await xChannel({ oauth2: true });
  const ada = customer('Ada');
  await x.customerSends(acct.id, { from: ada, text: 'token?' });
  const conv = await conversationWith(apiKey, ada.id);
  await replyAndWait(apiKey, conv.id, 'yes', 'sent');
  expect(x.sentMessages(acct.id)).toEqual([expect.objectContaining({ text: 'yes', auth: 'oauth2' })]);
  expect(new Set(x.calls(undefined, acct.id).map((c) => c.auth))).toEqual(new Set(['oauth2']));
});

test('429 on a reply: waits until x-rate-limit-reset, then sends once', async () => {
  const { apiKey, acct } = await xChannel();
  const ada = customer('Ada');
  await x.customerSends(acct.id, { from: ada, text: 'hi' });
  const conv = await conversationWith(apiKey, ada.id);
  x.failNext('dm_send', { kind: 'rate_limit', resetInSeconds: 2 });
  const out = await replyAndWait(apiKey, conv.id, 'after the limit', 'sent');
  expect(out.attempts).toBe(2);
  const calls = x.calls('dm_send', acct.id);
  expect(calls.map((c) => c.status)).toEqual([429, 201]);
  expect(calls[1].at).toBeGreaterThanOrEqual(calls[0].resetAtMs!);
  expect(x.sentMessages(acct.id)).toHaveLength(1);
});

test("DMs closed: X's 403 fails the reply at once with its reason; the channel stays connected", async () => {
  const { apiKey, acct, channel } = await xChannel();
  const ada = customer('Ada');
  await x.customerSends(acct.id, { from: ada, text: 'hi' });
  const conv = await conversationWith(apiKey, ada.id);
  x.failNext('dm_send', { kind: 'dms_closed' });
  const out = await replyAndWait(apiKey, conv.id, 'are you there?', 'failed');
  expect(out).toMatchObject({ error: 'You cannot send messages to this user.', attempts: 1 });
  expect(x.calls('dm_send', acct.id)).toHaveLength(1);
  expect((await api(apiKey).get(`/api/channels/${channel.id}`)).body.status).toBe('connected');
});

test('401 on a reply: the reply waits, and the channel asks for new credentials', async () => {
  const { apiKey, acct, channel } = await webhookChannel();
  const ada = customer('Ada');
  await x.customerSends(acct.id, { from: ada, text: 'hi' }, 'webhook');
  const conv = await conversationWith(apiKey, ada.id);
  x.revoke(acct.id);
  const out = await replyAndWait(apiKey, conv.id, 'hello', 'waiting_for_channel');
  expect(out).toMatchObject({ error: 'waiting for the channel to be reconnected: Unauthorized' });
  const ch = await channelStatus(apiKey, channel.id, 'reconnect_required');
  expect(ch.status_message).toBe("credentials rejected: Unauthorized; update the channel's credentials to reconnect it");
});
