import { FIXTURES_DIR } from '../../helpers/fixtures';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { TelegramFake } from '../../../src/sandbox/telegram';

const FIXTURES = path.join(FIXTURES_DIR, 'telegram');
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));

let n = 0;
const newToken = () => `${5062246000 + ++n}:AAFdlD4m5kVg94-FW0igXTti8oj2UHU${String(n).padStart(4, '0')}`;

type Answer = { status: number; body: any; headers: Headers };
async function api(fake: TelegramFake, token: string, method: string, params: Record<string, unknown> = {}, as: 'json' | 'form' | 'query' = 'json'): Promise<Answer> {
  const url = new URL(`${fake.baseUrl}/bot${token}/${method}`);
  let init: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) };
  const strings = Object.entries(params).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
  if (as === 'form') init = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(strings).toString() };
  if (as === 'query') {
    strings.forEach(([k, v]) => url.searchParams.set(k, v));
    init = { method: 'GET' };
  }
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** Plays PingBack's webhook endpoint. */
interface Received { headers: http.IncomingHttpHeaders; body: string }
let receiver: http.Server;
let receiverUrl: string;
let received: Received[] = [];
let receiverStatus = 200;

let strict: TelegramFake; // Telegram's own webhook rules
let local: TelegramFake; // allowHttpWebhooks, so it can reach the receiver

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(receiverStatus).end(receiverStatus === 200 ? 'ok' : 'boom');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/telegram/ch_1`;
  strict = await TelegramFake.start();
  local = await TelegramFake.start({ allowHttpWebhooks: true });
});
afterAll(async () => {
  await strict?.stop();
  await local?.stop();
  await new Promise((r) => receiver.close(r));
});
beforeEach(() => {
  received = [];
  receiverStatus = 200;
});

async function botWithCustomer(opts: { secret?: string; allowed_updates?: string[] } = {}) {
  const token = newToken();
  const set = await api(local, token, 'setWebhook', { url: receiverUrl, ...(opts.secret && { secret_token: opts.secret }), ...(opts.allowed_updates && { allowed_updates: opts.allowed_updates }) });
  expect(set.status).toBe(200);
  const first = await local.customerSends(token, { chatId: 5051103386, firstName: 'Max', lastName: 'Nix', text: 'hello' });
  return { token, first };
}

describe('answers are shaped like the recorded fixtures', () => {
  const producers: Record<string, () => Promise<Answer>> = {
    'response-getMe-ok.json': () => api(local, newToken(), 'getMe'),
    'response-setWebhook-ok.json': () => api(strict, newToken(), 'setWebhook', { url: 'https://pingback.example/webhooks/telegram/ch_123' }),
    'response-getWebhookInfo-ok.json': async () => {
      const { token } = await botWithCustomer({ allowed_updates: ['message', 'edited_message', 'callback_query'] });
      receiverStatus = 500;
      await local.customerSends(token, { chatId: 5051103386, text: 'again' });
      return api(local, token, 'getWebhookInfo');
    },
    'response-sendMessage-ok.json': async () => api(local, (await botWithCustomer()).token, 'sendMessage', { chat_id: 5051103386, text: 'hello' }),
    'error-400-chat-not-found.json': () => api(local, newToken(), 'sendMessage', { chat_id: 5051103386, text: 'hello' }),
    'error-401-unauthorized.json': () => {
      const token = newToken();
      local.revokeToken(token);
      return api(local, token, 'getMe');
    },
    'error-403-bot-blocked.json': async () => {
      const { token } = await botWithCustomer();
      local.failNext('sendMessage', { kind: 'blocked' });
      return api(local, token, 'sendMessage', { chat_id: 5051103386, text: 'hello' });
    },
    'error-429-too-many-requests.json': () => {
      local.failNext('getMe', { kind: 'rate_limit', retryAfter: fixture('error-429-too-many-requests.json').parameters.retry_after });
      return api(local, newToken(), 'getMe');
    },
  };
  const names = fs.readdirSync(FIXTURES).filter((f) => /^(response|error)-.*\.json$/.test(f));

  it('has a producer for every response/error fixture', () => {
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((f) => !producers[f])).toEqual([]);
  });

  it.each(names)('%s', async (name) => {
    const want = fixture(name);
    const got = await producers[name]();
    const keys = (o: unknown) => (o && typeof o === 'object' ? Object.keys(o).sort() : o);
    expect(keys(got.body)).toEqual(keys(want));
    expect(keys(got.body.result)).toEqual(keys(want.result));
    expect(keys(got.body.parameters)).toEqual(keys(want.parameters));
    if (want.ok === false) {
      expect(got.status).toBe(want.error_code);
      expect(got.body).toEqual(want); // errors carry no ids or dates, so they must match exactly
    } else {
      expect(got.status).toBe(200);
    }
    if (name === 'response-setWebhook-ok.json') expect(got.body).toEqual(want);
  });
});

describe('setWebhook', () => {
  it('accepts only https on ports 443, 80, 88, 8443 by default', async () => {
    const token = newToken();
    expect((await api(strict, token, 'setWebhook', { url: 'http://pingback.example/hook' })).body).toEqual({
      ok: false, error_code: 400, description: 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook',
    });
    const badPort = await api(strict, token, 'setWebhook', { url: 'https://pingback.example:3000/hook' });
    expect([badPort.status, badPort.body.description]).toEqual([400, 'Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443']);
    expect((await api(strict, token, 'setWebhook', { url: 'not a url' })).body.description).toBe('Bad Request: invalid webhook URL specified');
    expect(strict.webhookInfo(token)).toBeUndefined();
    for (const url of ['https://pingback.example/a', 'https://pingback.example:8443/b', 'https://pingback.example:88/c']) {
      expect((await api(strict, token, 'setWebhook', { url })).body).toEqual(fixture('response-setWebhook-ok.json'));
    }
    expect(strict.webhookInfo(token)).toEqual({ url: 'https://pingback.example:88/c' });
  });

  it('accepts plain http on any port with allowHttpWebhooks', async () => {
    const token = newToken();
    expect((await api(local, token, 'setWebhook', { url: 'http://127.0.0.1:3000/hook' })).status).toBe(200);
    expect(local.webhookInfo(token)?.url).toBe('http://127.0.0.1:3000/hook');
  });

  it('checks the secret token and keeps allowed_updates when omitted', async () => {
    const token = newToken();
    const url = 'https://pingback.example/hook';
    for (const secret_token of ['a+b/c=', 'with space', 'sécret']) {
      const r = await api(strict, token, 'setWebhook', { url, secret_token });
      expect([r.status, r.body.description]).toEqual([400, 'Bad Request: secret token contains unallowed characters']);
    }
    expect((await api(strict, token, 'setWebhook', { url, secret_token: 'a'.repeat(257) })).body.description).toBe('Bad Request: secret token is too long');
    expect((await api(strict, token, 'setWebhook', { url, secret_token: 'A-z_09'.repeat(40), allowed_updates: ['message'] })).status).toBe(200);
    expect((await api(strict, token, 'setWebhook', { url: `${url}/2`, secret_token: 's3cret' })).status).toBe(200);
    expect(strict.webhookInfo(token)).toEqual({ url: `${url}/2`, secret_token: 's3cret', allowed_updates: ['message'] });
    expect((await api(strict, token, 'setWebhook', { url: `${url}/2`, secret_token: 's3cret' })).body.description).toBe('Webhook is already set');
  });

  it('reads form and query parameters like JSON', async () => {
    const token = newToken();
    expect((await api(strict, token, 'setWebhook', { url: 'https://a.example/h', allowed_updates: ['message', 'callback_query'] }, 'form')).status).toBe(200);
    expect(strict.webhookInfo(token)?.allowed_updates).toEqual(['message', 'callback_query']);
    expect((await api(strict, token, 'setWebhook', { url: 'https://b.example/h' }, 'query')).status).toBe(200);
    const info = await api(strict, token, 'getWebhookInfo', {}, 'query');
    expect(info.body.result).toEqual({
      url: 'https://b.example/h', has_custom_certificate: false, pending_update_count: 0, max_connections: 40, ip_address: '<unknown>', allowed_updates: ['message', 'callback_query'],
    });
  });

  it('an empty url or deleteWebhook removes the webhook', async () => {
    const token = newToken();
    await api(strict, token, 'setWebhook', { url: 'https://a.example/h' });
    expect((await api(strict, token, 'setWebhook', { url: '' })).body).toEqual({ ok: true, result: true, description: 'Webhook was deleted' });
    expect(strict.webhookInfo(token)).toBeUndefined();
    expect((await api(strict, token, 'deleteWebhook')).body.description).toBe('Webhook is already deleted');
    await api(strict, token, 'setWebhook', { url: 'https://a.example/h' });
    expect((await api(strict, token, 'deleteWebhook')).body).toEqual({ ok: true, result: true, description: 'Webhook was deleted' });
    expect((await api(strict, token, 'getWebhookInfo')).body.result).toEqual({ url: '', has_custom_certificate: false, pending_update_count: 0 });
  });
});

describe('customerSends', () => {
  it('posts a real-shaped update with the secret header, update_id increasing by one', async () => {
    const { token, first } = await botWithCustomer({ secret: 'the_Secret-1' });
    const second = await local.customerSends(token, { chatId: 5051103386, text: 'second' });
    expect([first.status, second.status, second.body]).toEqual([200, 200, 'ok']);
    expect(received).toHaveLength(2);
    expect(received[0].headers['x-telegram-bot-api-secret-token']).toBe('the_Secret-1');
    expect(received[0].headers['content-type']).toBe('application/json');
    const [u1, u2] = received.map((r) => JSON.parse(r.body));
    expect(u1).toEqual(first.update);
    expect(u2.update_id).toBe(u1.update_id + 1);
    expect(u1.message).toEqual({
      message_id: 1,
      from: { id: 5051103386, is_bot: false, first_name: 'Max', last_name: 'Nix', language_code: 'en' },
      chat: { id: 5051103386, first_name: 'Max', last_name: 'Nix', type: 'private' },
      date: expect.any(Number),
      text: 'hello',
    });
    expect(Math.abs(u1.message.date - Date.now() / 1000)).toBeLessThan(5);
    expect(u2.message).toMatchObject({ message_id: 2, chat: u1.message.chat, text: 'second' });
  });

  it('sends photos as 2-4 sizes, largest last, with the caption instead of text', async () => {
    const { token } = await botWithCustomer();
    const { update } = await local.customerSends(token, { chatId: 77, firstName: 'Pia', username: 'pia', photo: true, caption: 'look' });
    const msg = (update as any).message;
    expect(msg.text).toBeUndefined();
    expect(msg.caption).toBe('look');
    expect(msg.photo.length).toBeGreaterThanOrEqual(2);
    expect(msg.photo.length).toBeLessThanOrEqual(4);
    const areas = msg.photo.map((p: any) => p.width * p.height);
    expect(areas).toEqual([...areas].sort((a, b) => a - b));
    expect(Object.keys(msg.photo[0]).sort()).toEqual(Object.keys(fixture('update-message-photo.json').message.photo[0]).sort());
  });

  it('records delivery failures in getWebhookInfo and redelivers the same bytes', async () => {
    const { token, first } = await botWithCustomer();
    receiverStatus = 500;
    const again = await local.redeliver(token, first.update);
    expect([again.status, again.body]).toEqual([500, 'boom']);
    expect(received[1].body).toBe(received[0].body);
    const info = (await api(local, token, 'getWebhookInfo')).body.result;
    expect(info.last_error_message).toBe('Wrong response from the webhook: 500 Internal Server Error');
    expect(info.ip_address).toBe('127.0.0.1');
  });

  it('throws without a webhook', async () => {
    await expect(local.customerSends(newToken(), { chatId: 1, text: 'x' })).rejects.toThrow(/no webhook/);
    await expect(local.redeliver(newToken(), { update_id: 1 })).rejects.toThrow(/no webhook/);
  });
});

describe('sendMessage', () => {
  it('answers in the customer chat with per-chat message ids and records what was sent', async () => {
    const { token } = await botWithCustomer();
    const r = await api(local, token, 'sendMessage', { chat_id: '5051103386', text: 'hi Max', reply_to_message_id: 1 });
    expect(r.body.result).toMatchObject({
      message_id: 2,
      from: { id: Number(token.split(':')[0]), is_bot: true, first_name: 'PingBack Sandbox Bot', username: `sandbox_${token.split(':')[0]}_bot` },
      chat: { id: 5051103386, type: 'private', first_name: 'Max' },
      reply_to_message: { message_id: 1, text: 'hello' },
      text: 'hi Max',
    });
    expect((await api(local, token, 'sendMessage', { chat_id: 5051103386, text: 'again' })).body.result.message_id).toBe(3);
    expect(local.sentMessages(token)).toEqual([
      { token, chat_id: '5051103386', text: 'hi Max', message_id: 2, reply_to_message_id: 1, at: expect.any(Number) },
      { token, chat_id: '5051103386', text: 'again', message_id: 3, at: expect.any(Number) },
    ]);
  });

  it('rejects empty, too long, unknown replies and unknown chats', async () => {
    const { token } = await botWithCustomer();
    const send = (params: Record<string, unknown>) => api(local, token, 'sendMessage', params).then((r) => [r.status, r.body.description]);
    expect(await send({ chat_id: 5051103386, text: '' })).toEqual([400, 'Bad Request: message text is empty']);
    expect(await send({ chat_id: 5051103386, text: 'x'.repeat(4097) })).toEqual([400, 'Bad Request: message is too long']);
    expect(await send({ chat_id: 5051103386, text: 'x', reply_to_message_id: 99 })).toEqual([400, 'Bad Request: message to be replied not found']);
    expect(await send({ chat_id: 1234, text: 'x' })).toEqual([400, 'Bad Request: chat not found']);
    expect(await send({ text: 'x' })).toEqual([400, 'Bad Request: chat_id is empty']);
    expect((await api(local, token, 'sendMessage', { chat_id: 5051103386, text: 'x'.repeat(4096) })).status).toBe(200);
    expect(local.sentMessages(token)).toHaveLength(1);
  });
});

describe('failNext', () => {
  it('fails the next calls of that method only, in order, then behaves normally', async () => {
    const token = newToken();
    local.failNext('getMe', { kind: 'server_error' }, 2);
    local.failNext('getMe', { kind: 'server_error', status: 503 });
    local.failNext('getMe', { kind: 'rate_limit', retryAfter: 3 });
    expect((await api(local, token, 'getWebhookInfo')).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await api(local, token, i % 2 ? 'getme' : 'getMe');
      statuses.push(r.status);
      if (r.status !== 200) expect(r.body.error_code).toBe(r.status);
      if (i === 0) expect(r.body).toEqual({ ok: false, error_code: 502, description: 'Bad Gateway' });
      if (i === 3) expect([r.headers.get('retry-after'), r.body.parameters]).toEqual(['3', { retry_after: 3 }]);
    }
    expect(statuses).toEqual([502, 502, 503, 429, 200]);
    expect(local.calls('getMe').filter((c) => c.token === token).map((c) => c.status)).toEqual(statuses);
  });

  it('scripts chat_not_found and unauthorized too, and a failed send is not recorded as sent', async () => {
    const { token } = await botWithCustomer();
    local.failNext('sendMessage', { kind: 'chat_not_found' });
    local.failNext('sendMessage', { kind: 'unauthorized' });
    const params = { chat_id: 5051103386, text: 'x' };
    expect((await api(local, token, 'sendMessage', params)).body).toEqual(fixture('error-400-chat-not-found.json'));
    expect((await api(local, token, 'sendMessage', params)).body).toEqual(fixture('error-401-unauthorized.json'));
    expect(local.sentMessages(token)).toEqual([]);
    expect(local.calls('sendMessage').filter((c) => c.token === token)).toEqual([
      { token, method: 'sendMessage', params, status: 400 },
      { token, method: 'sendMessage', params, status: 401 },
    ]);
  });
});

describe('tokens and routing', () => {
  it('a revoked token gets 401 on every method', async () => {
    const { token } = await botWithCustomer();
    local.revokeToken(token);
    for (const method of ['getMe', 'setWebhook', 'sendMessage', 'noSuchMethod']) {
      const r = await api(local, token, method, { chat_id: 5051103386, text: 'x', url: receiverUrl });
      expect([r.status, r.body]).toEqual([401, { ok: false, error_code: 401, description: 'Unauthorized' }]);
    }
  });

  it('a malformed token is 404 Not Found, an unknown method 404 method not found', async () => {
    for (const bad of ['123', 'abc:AAFdlD4m5kVg94-FW0igXTti8oj2UHUlJz4', '123:short', '123:AAFdlD4m5kVg94+FW0igXTti8oj2UHUlJz4']) {
      const r = await api(local, bad, 'getMe');
      expect([r.status, r.body]).toEqual([404, { ok: false, error_code: 404, description: 'Not Found' }]);
    }
    const r = await api(local, newToken(), 'sendCarrierPigeon');
    expect([r.status, r.body]).toEqual([404, { ok: false, error_code: 404, description: 'Not Found: method not found' }]);
  });
});

describe('control API under /_sandbox/', () => {
  const post = (p: string, json: object) =>
    fetch(`${local.baseUrl}/_sandbox/${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });

  it('drives a customer, scripts a failure and lists what was sent', async () => {
    const { token } = await botWithCustomer();
    const r = await post('customer-message', { token, chat_id: 808, text: 'from curl', first_name: 'Cu' });
    const body = (await r.json()) as any;
    expect([r.status, body.status, body.update.message.text, body.update.message.chat.first_name]).toEqual([200, 200, 'from curl', 'Cu']);
    expect((await post('fail-next', { method: 'sendMessage', kind: 'rate_limit', retry_after: 7 })).status).toBe(200);
    expect((await api(local, token, 'sendMessage', { chat_id: 808, text: 'a' })).body.description).toBe('Too Many Requests: retry after 7');
    expect((await api(local, token, 'sendMessage', { chat_id: 808, text: 'b' })).status).toBe(200);
    const sent = (await (await fetch(`${local.baseUrl}/_sandbox/sent?token=${encodeURIComponent(token)}`)).json()) as any[];
    expect(sent.map((m: any) => [m.chat_id, m.text])).toEqual([['808', 'b']]);
    expect((await post('fail-next', { method: 'getMe', kind: 'nonsense' })).status).toBe(400);
    expect((await post('customer-message', { token: newToken(), chat_id: 1, text: 'x' })).status).toBe(409);
  });
});
