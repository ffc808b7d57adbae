import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MetaFake } from '../../src/sandbox/meta';
import { igWebhook } from '../../src/sandbox/meta-payloads';
import { channelChecked, digits, inbox, metaChannel } from '../helpers/meta-channels';
import { agentUpload, eventually, request, Stack, stackWithFake } from '../helpers/stack';

/**
 * Instagram from outside: the Graph API fake plays Meta (Send API, 24-hour window,
 * errors) and the customer (signed messaging webhooks); PingBack runs for real.
 */
let meta: MetaFake;
let stack: Stack;

stackWithFake(() => MetaFake.start(), (fake) => ({ META_GRAPH_BASE_URL: fake.baseUrl }), (s, fake) => {
  stack = s;
  meta = fake;
});

const igsid = () => `1${digits(15)}`;

test('verification handshake: right token → challenge as text/plain, wrong → 403', async () => {
  const { apiKey, channel } = await metaChannel(stack, meta, 'instagram', { subscribe: false });
  const url = (token: string) => `${stack.url}/webhooks/instagram/${channel.id}?hub.mode=subscribe&hub.challenge=998877&hub.verify_token=${token}`;
  expect((await fetch(url('wrong'))).status).toBe(403);
  const ok = await fetch(url(channel.verify_token));
  expect([ok.status, ok.headers.get('content-type'), await ok.text()]).toEqual([200, 'text/plain; charset=utf-8', '998877']);
  expect((await request(stack.url, 'GET', `/api/channels/${channel.id}`, { token: apiKey })).body.status).toBe('connected');
});

test('a bad signature is 401 and nothing is signalled', async () => {
  const { channel, id } = await metaChannel(stack, meta, 'instagram');
  const r = await meta.deliver(id, igWebhook([{ igAccountId: '1', timeMs: 1, messaging: [] }]), { signature: `sha256=${'a'.repeat(64)}` });
  expect(r.status).toBe(401);
  const missing = await meta.deliver(id, igWebhook([{ igAccountId: '1', timeMs: 1, messaging: [] }]), { signature: null });
  expect(missing.status).toBe(401);
  expect(await stack.db('ignored_events').where({ channel_id: channel.id })).toEqual([]);
});

test('every kind of customer event lands in order; echoes are recorded, not shown as the customer\'s', async () => {
  const { apiKey, channel, id } = await metaChannel(stack, meta, 'instagram');
  const from = igsid();
  const first = await meta.customerSendsInstagram(id, [
    { from, kind: 'text', text: 'Hi, is this still available?' },
    { from, kind: 'image', bytes: Buffer.from('png bytes'), mimeType: 'image/png' },
    { from, kind: 'story_reply', text: 'Love this!' },
    { from, kind: 'story_mention' },
    { from, kind: 'echo', text: 'Yes, it is! (sent from the Instagram app)' },
  ]);
  expect(first.status).toBe(200);
  await meta.customerSendsInstagram(id, [
    { from, kind: 'reaction', target: first.mids[0] },
    { from, kind: 'unsend', target: first.mids[2] },
    { from, kind: 'postback', text: 'Get started' },
  ]);
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from, 7);
  const msgs = await box.messagesOf(conv.id);
  expect(msgs.map((m) => [m.direction, m.content_type, m.content])).toEqual([
    ['inbound', 'text', 'Hi, is this still available?'],
    ['inbound', 'image', ''],
    ['inbound', 'story_reply', 'Love this!'],
    ['inbound', 'story_mention', ''],
    ['inbound', 'reaction', '❤️'],
    ['inbound', 'unsend', ''],
    ['inbound', 'button_reply', 'Get started'],
  ]);
  expect(msgs[4].metadata).toMatchObject({ reacted_to_message_id: first.mids[0] });
  expect(msgs[5].metadata).toMatchObject({ deleted_message_id: first.mids[2] });
  expect(msgs[2].attachments[0]).toMatchObject({ type: 'story', url: expect.stringContaining('/ig_messaging_cdn/') });
  expect(conv.workflow_id).toBe(`conversation/instagram/${channel.id}/${from}`);
  expect(await stack.db('ignored_events').where({ channel_id: channel.id, reason: 'echo' }).select('platform_event_id')).toEqual([{ platform_event_id: first.mids[4] }]);

  const media = await fetch(`${stack.url}/api/conversations/${conv.id}/messages/${msgs[1].id}/attachments/0`, { headers: { authorization: `Bearer ${apiKey}` } });
  expect([media.status, media.headers.get('content-type'), Buffer.from(await media.arrayBuffer()).toString()]).toEqual([200, 'image/png', 'png bytes']);
});

test('attachment URLs off Meta\'s media hosts are never fetched; what is fetched is not rendered as a page', async () => {
  // Stands for what the server can reach and the world should not: a metadata service, an admin port.
  const internal: string[] = [];
  const service = http.createServer((req, res) => {
    internal.push(req.url!);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('secret');
  });
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  try {
    const { apiKey, id, igAccountId } = await metaChannel(stack, meta, 'instagram');
    const from = igsid();
    const internalUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}/latest/meta-data/`;
    const event = (mid: string, url: string) => ({ sender: { id: from }, recipient: { id: igAccountId }, timestamp: Date.now(), message: { mid, attachments: [{ type: 'image', payload: { url } }] } });
    const r = await meta.deliver(id, igWebhook([{ igAccountId, timeMs: Date.now(), messaging: [event('mid.internal', internalUrl), event('mid.metadata', 'http://169.254.169.254/latest/meta-data/')] }]));
    expect(r.status).toBe(200);
    // Served by the fake with the type the sender gave it.
    await meta.customerSendsInstagram(id, { from, kind: 'file', bytes: Buffer.from('<script>alert(1)</script>'), mimeType: 'text/html' });
    const box = inbox(stack, apiKey);
    const conv = await box.conversationFor(from, 3);
    const msgs = await box.messagesOf(conv.id);
    const attachment = (i: number) => request(stack.url, 'GET', `/api/conversations/${conv.id}/messages/${msgs[i].id}/attachments/0`, { token: apiKey });

    for (const [i, host] of [[0, `http://127.0.0.1:${(service.address() as AddressInfo).port}`], [1, 'http://169.254.169.254']] as const) {
      const refused = await attachment(i);
      expect([refused.status, refused.body.error]).toEqual([
        404,
        { code: 'media_not_available', message: `the media URL points at ${host}, which is not a Meta media host; not fetched` },
      ]);
    }
    expect(internal).toEqual([]);

    const html = await fetch(`${stack.url}/api/conversations/${conv.id}/messages/${msgs[2].id}/attachments/0`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect([html.status, html.headers.get('content-disposition'), html.headers.get('x-content-type-options')]).toEqual([200, 'attachment', 'nosniff']);
  } finally {
    await new Promise((r) => service.close(r));
  }
});

test('replies go out through the Send API to the IGSID; a read moves them to read', async () => {
  const { apiKey, id } = await metaChannel(stack, meta, 'instagram');
  const from = igsid();
  await meta.customerSendsInstagram(id, { from, text: 'price?' });
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from);
  const r = await box.reply(conv.id, { content: '25 EUR' });
  const sent = await box.messageIn(conv.id, r.body.id, ['sent']);
  expect(meta.sentMessages({ platform: 'instagram', to: from })).toEqual([expect.objectContaining({ from: id, text: '25 EUR', id: sent.platform_message_id })]);
  await meta.customerSendsInstagram(id, { from, kind: 'read', target: sent.platform_message_id });
  await box.messageIn(conv.id, r.body.id, ['read']);
});

test('entries for another Instagram account are ignored and recorded; Instagram Login setups match on page_id', async () => {
  const { apiKey, channel, id } = await metaChannel(stack, meta, 'instagram');
  const stranger = igsid();
  const foreign = igWebhook([{ igAccountId: '17841499999999999', timeMs: Date.now(), messaging: [{ sender: { id: stranger }, recipient: { id: '17841499999999999' }, timestamp: Date.now(), message: { mid: 'mid.foreign', text: 'hi' } }] }]);
  const r = await meta.deliver(id, foreign);
  expect([r.status, JSON.parse(r.body).ignored]).toEqual([200, 1]);
  expect(await stack.db('ignored_events').where({ channel_id: channel.id, reason: 'not_for_this_channel' }).select('platform_event_id')).toEqual([{ platform_event_id: 'mid.foreign' }]);

  // Without instagram_account_id, the entry id must be the configured page_id (Instagram Login: one and the same).
  const login = await metaChannel(stack, meta, 'instagram', { withAccountId: false });
  const from = igsid();
  await meta.customerSendsInstagram(login.id, { from, text: 'via Instagram Login' });
  await inbox(stack, login.apiKey).conversationFor(from);
  expect((await request(stack.url, 'GET', '/api/conversations', { token: apiKey })).body.data).toEqual([]);
});

test('outside the 24-hour window the reply fails with Instagram\'s reason', async () => {
  const { apiKey, id } = await metaChannel(stack, meta, 'instagram');
  const from = igsid();
  await meta.customerSendsInstagram(id, { from, text: 'hello' });
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from);
  meta.advanceClock(25 * 3600_000);
  try {
    const r = await box.reply(conv.id, { content: 'late answer' });
    const out = await box.messageIn(conv.id, r.body.id, ['failed']);
    expect(out.error).toMatch(/^\(#10\) This message is sent outside of allowed window\. — the customer has not written in the last 24 hours/);
    expect(out.attempts).toBe(1);
  } finally {
    meta.advanceClock(-25 * 3600_000);
  }
});

test('a rate limit is retried, then sent once; an expired token makes the channel ask to be reconnected, and the reply waits for it', async () => {
  const { apiKey, channel, id, accessToken, appSecret, igAccountId } = await metaChannel(stack, meta, 'instagram');
  const from = igsid();
  await meta.customerSendsInstagram(id, { from, text: 'hello' });
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from);
  meta.failNext('rate_limit');
  const r1 = await box.reply(conv.id, { content: 'one' });
  expect((await box.messageIn(conv.id, r1.body.id, ['sent'])).attempts).toBe(2);
  expect(meta.calls(`/${id}/messages`).map((c) => c.status)).toEqual([400, 200]);

  meta.expireToken(accessToken);
  const r2 = await box.reply(conv.id, { content: 'two' });
  expect((await box.messageIn(conv.id, r2.body.id, ['waiting_for_channel'])).error).toMatch(/^waiting for the channel to be reconnected: \(#190\) Error validating access token/);
  await eventually(async () => (await request(stack.url, 'GET', `/api/channels/${channel.id}`, { token: apiKey })).body.status === 'reconnect_required');

  // A PATCH with a new token is checked against the Page, and the channel is connected again.
  const renewed = `${accessToken}-renewed`;
  meta.addInstagramAccount({ pageId: id, accessToken: renewed, appSecret, igAccountId });
  expect((await request(stack.url, 'PATCH', `/api/channels/${channel.id}`, { token: apiKey, json: { config: { access_token: renewed } } })).status).toBe(200);
  expect(await channelChecked(stack, apiKey, channel.id)).toMatchObject({ status: 'connected', status_message: expect.stringMatching(/^connected as the Page Sandbox Page \d+; /) });
  const r3 = await box.reply(conv.id, { content: 'three' });
  await box.messageIn(conv.id, r3.body.id, ['sent']);
  await box.messageIn(conv.id, r2.body.id, ['sent']);
  expect(meta.sentMessages({ to: from }).map((m) => m.text)).toEqual(['one', 'two', 'three']);
});

test("an agent's files reach the customer: the text, then a message per file that Instagram fetches from an expiring PingBack link, the same bytes", async () => {
  const { apiKey, id } = await metaChannel(stack, meta, 'instagram');
  const from = igsid();
  await meta.customerSendsInstagram(id, { from, text: 'a photo of the crack?' });
  const box = inbox(stack, apiKey);
  const conv = await box.conversationFor(from);
  const upload = (bytes: Buffer, type: string, name: string) => agentUpload(stack, apiKey, conv.id, bytes, type, name);
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(6000)]);
  const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70]), randomBytes(9000)]);
  const r = await box.reply(conv.id, { content: 'Here it is', attachments: [await upload(png, 'image/png', 'crack.png'), await upload(mp4, 'video/mp4', 'walk.mp4')] });
  expect(r.status).toBe(202);
  await box.messageIn(conv.id, r.body.id, ['sent']);
  const sent = meta.sentMessages({ to: from });
  expect(sent.map((m) => m.file?.kind ?? `text:${m.text}`)).toEqual(['text:Here it is', 'image', 'video']);
  expect(sent[1].file!.bytes.equals(png)).toBe(true);
  expect(sent[2].file!.bytes.equals(mp4)).toBe(true);

  // The link was for Instagram: without its token, or with another file's, there is nothing there.
  const [stored] = await stack.db('stored_media').where({ file_name: 'crack.png' }).orderBy('created_at', 'desc').limit(1).select('id');
  expect((await fetch(`${stack.url}/media/${stored.id}`)).status).toBe(404);
  const { mediaLink } = await import('../../src/http/media-links');
  const { secretBoxFrom } = await import('../../src/config');
  const expired = mediaLink(stack.config.PUBLIC_BASE_URL, secretBoxFrom(stack.config), stored.id, -1000);
  expect((await fetch(expired)).status).toBe(404);
  const fresh = new URL(mediaLink(stack.config.PUBLIC_BASE_URL, secretBoxFrom(stack.config), stored.id));
  expect((await fetch(`${stack.url}/media/00000000-0000-4000-8000-000000000000${fresh.search}`)).status).toBe(404);
  const ok = await fetch(`${stack.url}${fresh.pathname}${fresh.search}`);
  expect([ok.status, ok.headers.get('content-type')]).toEqual([200, 'image/png']);

  // A type Instagram does not take is refused when the reply is written.
  const pdf = await box.reply(conv.id, { content: 'the report', attachments: [await upload(Buffer.from('%PDF-1.7'), 'application/pdf', 'r.pdf')] });
  expect(pdf.status).toBe(422);
  expect(pdf.body.error.message).toMatch(/^r\.pdf: Instagram does not take application\/pdf files/);
});
