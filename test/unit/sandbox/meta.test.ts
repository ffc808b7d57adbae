import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyMetaSignature } from '../../../src/channels/meta/signature';
import { MetaFake } from '../../../src/sandbox/meta';
import { fixtureFiles } from '../../helpers/fixtures';

/** Types and keys, not values: the fixtures' ids and texts are examples. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape((v as Record<string, unknown>)[k])]));
  return typeof v;
}
const without = (o: Record<string, unknown>, ...keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
const fixture = (platform: string, name: string) => fixtureFiles(platform, name)[0].body;
const waMessage = (payload: any) => payload.entry[0].changes[0].value.messages[0];

/** Plays PingBack's webhook endpoint: records POSTs, answers Meta's handshake. */
interface Received { headers: http.IncomingHttpHeaders; raw: Buffer }
let received: Received[] = [];
let receiver: http.Server;
let callbackUrl: string;
let fake: MetaFake;

const WA = { phoneNumberId: '106540352242922', accessToken: 'EAAG-sandbox-token-0001', appSecret: 'wa-app-secret-0001' };
const IG = { pageId: '104000000000001', accessToken: 'EAAG-ig-token-0002', appSecret: 'ig-app-secret-0002', igAccountId: '17841400000000000' };

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (req.method === 'GET') {
      const ok = url.searchParams.get('hub.verify_token') === 'verify-me' && url.searchParams.get('hub.mode') === 'subscribe';
      res.writeHead(ok ? 200 : 403, { 'content-type': 'text/plain' }).end(ok ? url.searchParams.get('hub.challenge') : 'no');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, raw: Buffer.concat(chunks) });
      res.writeHead(200).end('EVENT_RECEIVED');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/x`;
  fake = await MetaFake.start();
  fake.addWhatsappNumber(WA);
  fake.addInstagramAccount(IG);
  expect(await fake.subscribe(WA.phoneNumberId, callbackUrl, 'verify-me')).toMatchObject({ ok: true, status: 200 });
  expect(await fake.subscribe(IG.pageId, callbackUrl, 'verify-me')).toMatchObject({ ok: true });
});
afterAll(async () => {
  await fake?.stop();
  await new Promise((r) => receiver.close(r));
});
beforeEach(() => {
  received = [];
});

const graph = async (method: string, path: string, opts: { token?: string; json?: unknown } = {}) => {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.json) headers['content-type'] = 'application/json';
  const res = await fetch(`${fake.baseUrl}/v21.0/${path}`, { method, headers, body: opts.json ? JSON.stringify(opts.json) : undefined });
  return { status: res.status, body: (await res.json()) as any };
};
const sendWa = (to: string, text = 'hello', extra: object = {}) =>
  graph('POST', `${WA.phoneNumberId}/messages`, { token: WA.accessToken, json: { messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'text', text: { body: text }, ...extra } });
const sendIg = (to: string, text = 'hello') => graph('POST', `${IG.pageId}/messages`, { token: IG.accessToken, json: { recipient: { id: to }, message: { text } } });
const lastPayload = () => JSON.parse(received[received.length - 1].raw.toString());

describe('answers are shaped like the fixtures', () => {
  test('send success, both platforms', async () => {
    await fake.customerSendsWhatsapp(WA.phoneNumberId, { from: '16505555555' });
    const wa = await sendWa('16505555555');
    expect(wa.status).toBe(200);
    expect(shape(wa.body)).toEqual(shape(fixture('whatsapp', 'send-message-success')));
    expect(wa.body.messages[0].id).toMatch(/^wamid\./);
    await fake.customerSendsInstagram(IG.pageId, { from: '1234567890123456' });
    const ig = await sendIg('1234567890123456');
    expect([ig.status, shape(ig.body)]).toEqual([200, shape(fixture('instagram', 'send-success'))]);
  });

  const errorProducers: Record<string, () => Promise<{ status: number; body: any }>> = {
    'whatsapp/error-100-invalid-parameter.json': () => sendWa('16505555555', ''),
    'whatsapp/error-130429-throughput.json': () => (fake.failNext('rate_limit'), sendWa('16505555555')),
    'whatsapp/error-131047-reengagement.json': () => sendWa('19990000000'),
    'whatsapp/error-131056-pair-rate-limit.json': () => (fake.failNext('pair_rate_limit'), sendWa('16505555555')),
    'whatsapp/error-190-token-expired.json': () => (fake.failNext('token_expired'), sendWa('16505555555')),
    'instagram/send-error-outside-window.json': () => sendIg('9990000000000000'),
    'instagram/send-error-user-unavailable.json': () => (fake.failNext('user_unavailable'), sendIg('1234567890123456')),
  };
  const errorFixtures = [
    ...fixtureFiles('whatsapp', 'error-').filter((f) => f.body.status).map((f) => [`whatsapp/${f.name}`, f.body] as const),
    ...fixtureFiles('instagram', 'send-error-').map((f) => [`instagram/${f.name}`, f.body] as const),
  ];
  test.each(errorFixtures)('%s', async (name, want) => {
    await fake.customerSendsWhatsapp(WA.phoneNumberId, { from: '16505555555' });
    await fake.customerSendsInstagram(IG.pageId, { from: '1234567890123456' });
    const got = await errorProducers[name]();
    expect(got.status).toBe(want.status);
    expect(shape(got.body)).toEqual(shape(want.body));
    // Everything but the trace id (and the dates in the token message) is Meta's exact answer.
    const exact = (b: any) => ({ ...b.error, fbtrace_id: undefined, message: b.error.code === 190 ? undefined : b.error.message });
    expect(exact(got.body)).toEqual(exact(want.body));
    if (want.body.error.code === 190) expect(got.body.error.message).toMatch(/^Error validating access token: Session has expired on \w+day, \d\d-\w{3}-\d\d \d\d:\d\d:\d\d PDT\. The current time is/);
  });

  test('WhatsApp webhooks: envelope as in Meta\'s doc, each kind as its fixture', async () => {
    const kinds: Array<[Parameters<MetaFake['customerSendsWhatsapp']>[1], string]> = [
      [{ from: '16505551234', name: 'Sheena Nelson', kind: 'text' }, 'message-text.json'],
      [{ from: '1', kind: 'image' }, 'message-image.json'],
      [{ from: '1', kind: 'video', text: 'caption' }, 'message-video-forwarded.json'],
      [{ from: '1', kind: 'audio' }, 'message-audio.json'],
      [{ from: '1', kind: 'voice' }, 'message-voice.json'],
      [{ from: '1', kind: 'document', text: 'caption' }, 'message-document.json'],
      [{ from: '1', kind: 'sticker' }, 'message-sticker.json'],
      [{ from: '1', kind: 'location' }, 'message-location.json'],
      [{ from: '1', kind: 'contacts' }, 'message-contacts.json'],
      [{ from: '1', kind: 'reaction', reactTo: 'wamid.x' }, 'message-reaction.json'],
      [{ from: '1', kind: 'button_reply', replyTo: 'wamid.x' }, 'message-interactive-button-reply.json'],
      [{ from: '1', kind: 'list_reply', replyTo: 'wamid.x' }, 'message-interactive-list-reply.json'],
      [{ from: '1', kind: 'quick_reply', replyTo: 'wamid.x' }, 'message-button-quick-reply.json'],
      [{ from: '1', kind: 'unsupported' }, 'message-unsupported-with-type.json'],
      [{ from: '1', kind: 'text', text: 'replied text', replyTo: 'wamid.x' }, 'message-reply-context.json'],
    ];
    for (const [input, file] of kinds) {
      const r = await fake.customerSendsWhatsapp(WA.phoneNumberId, input);
      expect(r.status).toBe(200);
      const got = lastPayload();
      const want = fixture('whatsapp', file);
      // The fixtures' `forwarded` context is a property of those captures, not of the kind.
      const msg = (p: any) => (waMessage(p).context?.forwarded ? without(waMessage(p), 'context') : waMessage(p));
      expect([file, shape(msg(got))]).toEqual([file, shape(msg(want))]);
    }
    const envelope = (p: any) => ({ ...p, entry: [{ ...p.entry[0], changes: [{ ...p.entry[0].changes[0], value: without(p.entry[0].changes[0].value, 'messages') }] }] });
    expect(shape(envelope(lastPayload()))).toEqual(shape(envelope(fixture('whatsapp', 'message-text-meta-doc'))));
  });

  test('statuses, each as its fixture', async () => {
    await fake.customerSendsWhatsapp(WA.phoneNumberId, { from: '972987654321' });
    const { body } = await sendWa('972987654321');
    received = [];
    await fake.sendStatuses(body.messages[0].id, ['sent', 'delivered', 'read', 'failed']);
    const got = received.map((r) => JSON.parse(r.raw.toString()).entry[0].changes[0].value.statuses[0]);
    for (const [i, name] of ['sent', 'delivered', 'read', 'failed'].entries()) {
      expect(shape(got[i])).toEqual(shape(fixture('whatsapp', `status-${name}`).entry[0].changes[0].value.statuses[0]));
      expect(got[i]).toMatchObject({ id: body.messages[0].id, status: name, recipient_id: '972987654321' });
    }
    expect(shape(got[3].errors[0])).toEqual(shape(fixture('whatsapp', 'error-131047-webhook-errors-entry')));
  });

  test('Instagram webhooks, each kind as its fixture', async () => {
    const kinds: Array<[Parameters<MetaFake['customerSendsInstagram']>[1], string]> = [
      [{ from: '1234567890123456', kind: 'text' }, 'message-text.json'],
      [{ from: '1234567890123456', kind: 'image' }, 'message-image.json'],
      [{ from: '1234567890123456', kind: 'echo' }, 'message-echo.json'],
      [{ from: '1234567890123456', kind: 'story_reply' }, 'message-story-reply.json'],
      [{ from: '1234567890123456', kind: 'story_mention' }, 'message-story-mention.json'],
      [{ from: '1234567890123456', kind: 'unsend', target: 'mid.1' }, 'message-unsend.json'],
      [{ from: '1234567890123456', kind: 'reaction', target: 'mid.1' }, 'reaction.json'],
      [{ from: '1234567890123456', kind: 'read', target: 'mid.1' }, 'read.json'],
    ];
    for (const [input, file] of kinds) {
      await fake.customerSendsInstagram(IG.pageId, input);
      expect([file, shape(lastPayload())]).toEqual([file, shape(fixture('instagram', file))]);
    }
    const echo = lastPayload();
    expect(echo.entry[0].id).toBe(IG.igAccountId);
  });
});

test('webhooks are signed over Meta\'s escaped serialisation', async () => {
  await fake.customerSendsWhatsapp(WA.phoneNumberId, { from: '1', name: 'Zoë', text: 'Grüße 👋 https://x.example/a' });
  const [{ raw, headers }] = received;
  expect(raw.toString()).toContain('Gr\\u00fc\\u00dfe \\ud83d\\udc4b https:\\/\\/x.example\\/a');
  expect(headers['content-type']).toBe('application/json');
  expect(verifyMetaSignature(raw, headers['x-hub-signature-256'] as string, WA.appSecret)).toBe(true);
  expect(headers['x-hub-signature']).toMatch(/^sha1=[0-9a-f]{40}$/);
});

test('subscribe fails on a wrong verify token and keeps the old callback', async () => {
  const r = await fake.subscribe(WA.phoneNumberId, callbackUrl, 'wrong');
  expect(r).toMatchObject({ ok: false, status: 403 });
});

test('the 24-hour window counts from the customer\'s last message, on the fake\'s clock', async () => {
  await fake.customerSendsWhatsapp(WA.phoneNumberId, { from: '15550001111' });
  expect((await sendWa('15550001111')).status).toBe(200);
  fake.advanceClock(24 * 3600_000 + 1000);
  const late = await sendWa('15550001111');
  expect([late.status, late.body.error.code]).toEqual([400, 131047]);
  await fake.customerSendsWhatsapp(WA.phoneNumberId, { from: '15550001111' });
  expect((await sendWa('15550001111')).status).toBe(200);
  expect(fake.sentMessages({ to: '15550001111' })).toHaveLength(2);
});

test('a multi-entry layout puts one message in each entry', async () => {
  const r = await fake.customerSendsWhatsapp(WA.phoneNumberId, [{ from: '1', text: 'a' }, { from: '2', text: 'b' }], { layout: 'entry-per-message' });
  expect(r.payload).toMatchObject({ entry: [{ changes: [{ value: { messages: [{ from: '1' }] } }] }, { changes: [{ value: { messages: [{ from: '2' }] } }] }] });
  const one = await fake.customerSendsWhatsapp(WA.phoneNumberId, [{ from: '1' }, { from: '2' }, { from: '1' }]);
  expect((one.payload as any).entry[0].changes[0].value).toMatchObject({ contacts: [{ wa_id: '1' }, { wa_id: '2' }], messages: [{}, {}, {}] });
});

test('media: GET /{media-id} gives a URL that downloads with the token only', async () => {
  const bytes = Buffer.from('fake jpeg bytes');
  await fake.customerSendsWhatsapp(WA.phoneNumberId, { from: '1', kind: 'image', bytes, mimeType: 'image/jpeg' });
  const id = waMessage(lastPayload()).image.id;
  const info = await graph('GET', id, { token: WA.accessToken });
  expect(info.body).toMatchObject({ messaging_product: 'whatsapp', mime_type: 'image/jpeg', file_size: bytes.length, id });
  const download = await fetch(info.body.url, { headers: { authorization: `Bearer ${WA.accessToken}` } });
  expect([download.status, download.headers.get('content-type'), Buffer.from(await download.arrayBuffer()).equals(bytes)]).toEqual([200, 'image/jpeg', true]);
  expect((await fetch(info.body.url)).status).toBe(400);
  expect((await graph('GET', id, { token: 'EAAG-someone-else' })).body.error.code).toBe(190);
  expect((await graph('GET', '999', { token: WA.accessToken })).body.error).toMatchObject({ code: 100, error_subcode: 33 });
  fake.failNext('server_error', { on: 'media' });
  expect((await graph('GET', id, { token: WA.accessToken })).status).toBe(500);
});

test('GET /{phone-number-id} and /{page-id} answer the owner\'s token, and refuse others as Graph does', async () => {
  const number = await graph('GET', `${WA.phoneNumberId}?fields=id,display_phone_number,verified_name`, { token: WA.accessToken });
  expect([number.status, number.body]).toEqual([200, expect.objectContaining({ id: WA.phoneNumberId, display_phone_number: expect.stringMatching(/^\d+$/), verified_name: expect.any(String) })]);
  const page = await graph('GET', `${IG.pageId}?fields=id,name`, { token: IG.accessToken });
  expect([page.status, page.body]).toEqual([200, { id: IG.pageId, name: expect.any(String) }]);
  expect((await graph('GET', WA.phoneNumberId, { token: IG.accessToken })).body.error.code).toBe(190);
  expect((await graph('GET', IG.pageId)).body.error.code).toBe(2500);
  const token = 'EAAG-ig-token-expiring';
  fake.addInstagramAccount({ ...IG, accessToken: token });
  fake.expireToken(token);
  try {
    expect((await graph('GET', IG.pageId, { token })).body.error).toMatchObject({ code: 190, error_subcode: 463 });
  } finally {
    fake.addInstagramAccount(IG);
  }
  expect(fake.calls(`/${IG.pageId}`).filter((c) => c.path === `/v21.0/${IG.pageId}`).map((c) => [c.method, c.status])).toEqual([['GET', 200], ['GET', 400], ['GET', 401]]);
});

test('scripted failures come in order, then the fake behaves', async () => {
  await fake.customerSendsWhatsapp(WA.phoneNumberId, { from: '15550002222' });
  fake.failNext('app_rate_limit');
  fake.failNext('service_unavailable', { times: 2 });
  fake.failNext('something_went_wrong');
  const codes = [];
  for (let i = 0; i < 5; i++) {
    const r = await sendWa('15550002222');
    codes.push([r.status, r.body.error?.code ?? 'ok']);
  }
  expect(codes).toEqual([[400, 4], [503, 2], [503, 2], [500, 131000], [200, 'ok']]);
  fake.expireToken(WA.accessToken);
  try {
    expect((await sendWa('15550002222')).body.error).toMatchObject({ code: 190, error_subcode: 463 });
  } finally {
    fake.addWhatsappNumber({ ...WA, accessToken: `${WA.accessToken}-renewed` });
  }
  expect((await graph('POST', `${WA.phoneNumberId}/messages`, { token: `${WA.accessToken}-renewed`, json: { messaging_product: 'whatsapp', to: '15550002222', type: 'text', text: { body: 'x' } } })).status).toBe(200);
});

test('the control API drives a customer with curl', async () => {
  const post = (p: string, json: object) => fetch(`${fake.baseUrl}/_sandbox/${p}`, { method: 'POST', body: JSON.stringify(json) });
  const r = await post('whatsapp/customer-message', { phone_number_id: WA.phoneNumberId, from: '15553334444', name: 'Ada', text: 'hi from curl' });
  expect(r.status).toBe(200);
  expect(waMessage(lastPayload())).toMatchObject({ from: '15553334444', text: { body: 'hi from curl' } });
  expect((await post('fail-next', { kind: 'nonsense' })).status).toBe(400);
  expect((await post('whatsapp/customer-message', { phone_number_id: '1', from: '2' })).status).toBe(409);
  expect((await post('advance-clock', { seconds: 1 })).status).toBe(200);

  // A number registered with curl, without the optional fields, still gets Meta's full metadata.
  const number = { phone_number_id: '109999999999999', access_token: 'EAAG-curl-token', app_secret: 'curl-secret' };
  expect((await post('whatsapp/numbers', number)).status).toBe(200);
  const sub = await post('subscribe', { id: number.phone_number_id, callback_url: callbackUrl, verify_token: 'verify-me' });
  expect(((await sub.json()) as any).ok).toBe(true);
  await post('whatsapp/customer-message', { phone_number_id: number.phone_number_id, from: '1', text: 'x' });
  expect(lastPayload().entry[0].changes[0].value.metadata).toEqual({ display_phone_number: expect.stringMatching(/^\d+$/), phone_number_id: number.phone_number_id });
});
