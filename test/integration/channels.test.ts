import { TelegramFake } from '../../src/sandbox/telegram';
import { ADMIN_TOKEN, createAccount, eventually, fakeBotToken, request, Stack, startStack } from '../helpers/stack';

/** Channels, accounts and plans, as an operator and a business would use them. */
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

const api = (key: string) => ({
  get: (path: string) => request(stack.url, 'GET', path, { token: key }),
  post: (path: string, json: unknown) => request(stack.url, 'POST', path, { token: key, json }),
  patch: (path: string, json: unknown) => request(stack.url, 'PATCH', path, { token: key, json }),
  del: (path: string) => request(stack.url, 'DELETE', path, { token: key }),
});

const WHATSAPP = { access_token: 'EAAG-whatsapp-token-0123456789abcdef', phone_number_id: '106540352242922', app_secret: 'f00dfeedcafe0123456789abcdef0123' };

async function channelStatus(key: string, id: string, want: string) {
  return eventually(async () => {
    const r = await api(key).get(`/api/channels/${id}`);
    return r.body.status === want ? r.body : undefined;
  }, 30_000, `channel ${want}`);
}

test('Free allows one webchat channel and says which plans allow more', async () => {
  const { apiKey } = await createAccount(stack, 'free');
  const tg = await api(apiKey).post('/api/channels', { type: 'telegram', config: { bot_token: fakeBotToken() } });
  expect(tg.status).toBe(403);
  expect(tg.body.error).toMatchObject({ code: 'channel_type_not_in_plan', details: { plans_allowing: ['mini', 'pro'] } });
  expect((await api(apiKey).post('/api/channels', { type: 'webchat', config: {} })).status).toBe(201);
  const second = await api(apiKey).post('/api/channels', { type: 'webchat', config: {} });
  expect(second.status).toBe(403);
  expect(second.body.error).toMatchObject({ code: 'plan_limit_reached', details: { limit: 1, upgrade_to: 'mini' } });
  const account = await api(apiKey).get('/api/account');
  expect(account.body).toMatchObject({
    plan: 'free',
    limits: { max_active_channels: 1, channel_types: ['webchat'], max_stored_bytes: 1024 ** 3 },
    usage: { active_channels: 1, active_channels_by_type: { webchat: 1 }, stored_bytes: 0 },
  });
});

test('twenty concurrent creates on Mini end with exactly three channels', async () => {
  const { apiKey, accountId } = await createAccount(stack, 'mini');
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => api(apiKey).post('/api/channels', { type: 'webchat', name: `w${i}`, config: {} })),
  );
  expect(results.filter((r) => r.status === 201)).toHaveLength(3);
  expect(results.filter((r) => r.status === 403 && r.body.error.code === 'plan_limit_reached')).toHaveLength(17);
  expect(await stack.db('channels').where({ account_id: accountId })).toHaveLength(3);
});

test('a bad config names every bad field; nothing is stored', async () => {
  const { apiKey, accountId } = await createAccount(stack, 'pro');
  const bad = await api(apiKey).post('/api/channels', {
    type: 'email',
    config: { address: 'not-an-email', inbound: { method: 'imap', port: 993, user: 'u', password: 'p' }, smtp: { host: 'smtp.x', port: 0, user: 'u', password: 'p' } },
  });
  expect(bad.status).toBe(422);
  const paths = bad.body.error.details.fields.map((f: any) => f.path);
  expect(paths).toEqual(expect.arrayContaining(['address', 'inbound.host', 'smtp.port']));
  const unknown = await api(apiKey).post('/api/channels', { type: 'fax', config: {} });
  expect(unknown.status).toBe(422);
  expect(unknown.body.error.details.fields[0].path).toBe('type');
  const tg = await api(apiKey).post('/api/channels', { type: 'telegram', config: { bot_token: 'nope' } });
  expect(tg.status).toBe(422);
  // Text PostgreSQL cannot store (NUL), in a name: refused as input, on any route, nothing half-written.
  const nul = await api(apiKey).post('/api/channels', { type: 'webchat', name: 'a\u0000b', config: {} });
  expect([nul.status, nul.body.error.code]).toEqual([422, 'invalid_text']);
  const key = await api(apiKey).post('/api/api-keys', { name: 'key\u0000' });
  expect([key.status, key.body.error.code]).toEqual([422, 'invalid_text']);
  expect(await stack.db('channels').where({ account_id: accountId })).toHaveLength(0);
  expect(await stack.db('api_keys').where({ account_id: accountId })).toHaveLength(1);
});

test('secrets are sealed at rest, masked in every answer, rotated by PATCH', async () => {
  const { apiKey } = await createAccount(stack, 'pro');
  const created = await api(apiKey).post('/api/channels', { type: 'whatsapp', name: 'WA', config: WHATSAPP });
  expect(created.status).toBe(201);
  const id = created.body.id;
  expect(created.body.config).toEqual({ ...WHATSAPP, access_token: '********cdef', app_secret: '********0123' });
  expect(created.body.callback_url).toBe(`${stack.url}/webhooks/whatsapp/${id}`);
  expect(created.body.verify_token).toMatch(/^[A-Za-z0-9_-]{24,}$/);

  const stored = JSON.stringify((await stack.db('channels').where({ id }).first()).config);
  expect(stored).not.toContain(WHATSAPP.access_token);
  expect(stored).not.toContain(WHATSAPP.app_secret);
  expect(stored).toContain(WHATSAPP.phone_number_id);

  // Sending the masked value back keeps the secret; a new value replaces it.
  const echoed = await api(apiKey).patch(`/api/channels/${id}`, { config: created.body.config });
  expect(echoed.status).toBe(200);
  const rotated = await api(apiKey).patch(`/api/channels/${id}`, { config: { access_token: 'EAAG-rotated-token-zzzz9999' } });
  expect(rotated.status).toBe(200);
  expect(rotated.body.config).toMatchObject({ access_token: '********9999', app_secret: '********0123', phone_number_id: WHATSAPP.phone_number_id });

  const everything = [created, echoed, rotated, await api(apiKey).get('/api/channels'), await api(apiKey).get(`/api/channels/${id}`)]
    .map((r) => r.text)
    .join('\n');
  for (const secret of [WHATSAPP.access_token, WHATSAPP.app_secret, 'EAAG-rotated-token-zzzz9999']) {
    expect(everything).not.toContain(secret);
    expect(stack.log.lines.join('\n')).not.toContain(secret);
  }
});

test('a secret that merely looks sealed is sealed like any other', async () => {
  const { apiKey } = await createAccount(stack, 'pro');
  const created = await api(apiKey).post('/api/channels', { type: 'whatsapp', config: { ...WHATSAPP, access_token: 'enc:v1:looks-sealed-but-is-not' } });
  expect(created.status).toBe(201);
  expect(created.body.config.access_token).toBe('********-not');
  expect((await api(apiKey).get('/api/channels')).status).toBe(200);
});

test('a downgrade the active channels exceed is refused, naming them', async () => {
  const { apiKey, accountId } = await createAccount(stack, 'mini');
  const a = await api(apiKey).post('/api/channels', { type: 'webchat', name: 'site', config: {} });
  const b = await api(apiKey).post('/api/channels', { type: 'whatsapp', name: 'wa', config: WHATSAPP });
  const down = await request(stack.url, 'PATCH', `/admin/accounts/${accountId}`, { token: ADMIN_TOKEN, json: { plan: 'free' } });
  expect(down.status).toBe(409);
  expect(down.body.error.code).toBe('plan_downgrade_blocked');
  expect(down.body.error.details.channels.map((c: any) => c.id)).toEqual([b.body.id]);
  expect((await api(apiKey).patch(`/api/channels/${b.body.id}`, { is_active: false })).status).toBe(200);
  const ok = await request(stack.url, 'PATCH', `/admin/accounts/${accountId}`, { token: ADMIN_TOKEN, json: { plan: 'free' } });
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ plan: 'free', usage: { active_channels: 1 } });
  // Reactivating what the plan no longer allows is refused.
  const again = await api(apiKey).patch(`/api/channels/${b.body.id}`, { is_active: true });
  expect(again.status).toBe(403);
  expect(again.body.error.code).toBe('channel_type_not_in_plan');
  expect(a.status).toBe(201);
});

test('API keys: many per account, shown once, revocable', async () => {
  const { apiKey } = await createAccount(stack, 'free');
  const made = await api(apiKey).post('/api/api-keys', { name: 'ci' });
  expect(made.status).toBe(201);
  expect(made.body.api_key).toMatch(/^pb_/);
  expect((await api(made.body.api_key).get('/api/account')).status).toBe(200);
  const list = await api(apiKey).get('/api/api-keys');
  expect(list.body.data.map((k: any) => k.name)).toEqual(['default', 'ci']);
  expect(list.text).not.toContain(made.body.api_key);
  expect((await api(apiKey).del(`/api/api-keys/${made.body.id}`)).status).toBe(204);
  const refused = await api(made.body.api_key).get('/api/account');
  expect(refused.status).toBe(401);
  expect(refused.body.error.code).toBe('unauthorized');
});

test('another account gets 404 on every route that names an id', async () => {
  const owner = await createAccount(stack, 'pro');
  const other = await createAccount(stack, 'pro');
  const ch = await api(owner.apiKey).post('/api/channels', { type: 'webchat', config: {} });
  const key = await api(owner.apiKey).post('/api/api-keys', { name: 'x' });
  const o = api(other.apiKey);
  for (const r of [
    await o.get(`/api/channels/${ch.body.id}`),
    await o.patch(`/api/channels/${ch.body.id}`, { name: 'mine now' }),
    await o.patch(`/api/channels/${ch.body.id}`, { is_active: false }),
    await o.del(`/api/api-keys/${key.body.id}`),
  ]) {
    expect(r.status).toBe(404);
  }
  expect((await o.get('/api/channels')).body.data).toEqual([]);
  expect((await api(owner.apiKey).get(`/api/channels/${ch.body.id}`)).body).toMatchObject({ name: 'webchat channel', is_active: true });
});

test('Telegram registration retries a failing setWebhook until it succeeds', async () => {
  const { apiKey } = await createAccount(stack, 'mini');
  const token = fakeBotToken();
  telegram.failNext('setWebhook', { kind: 'server_error' }, 2);
  const created = await api(apiKey).post('/api/channels', { type: 'telegram', config: { bot_token: token } });
  expect(created.status).toBe(201);
  const ch = await channelStatus(apiKey, created.body.id, 'connected');
  expect(ch.status_message).toMatch(/webhook registered/);
  expect(telegram.calls('setWebhook').filter((c) => c.token === token).map((c) => c.status)).toEqual([502, 502, 200]);
  expect(telegram.webhookInfo(token)?.url).toBe(ch.callback_url);
});

test('an invalid Telegram token ends in error with Telegram\'s message, and a new token reconnects', async () => {
  const { apiKey } = await createAccount(stack, 'mini');
  const token = fakeBotToken();
  telegram.revokeToken(token);
  const created = await api(apiKey).post('/api/channels', { type: 'telegram', config: { bot_token: token } });
  const errored = await channelStatus(apiKey, created.body.id, 'error');
  expect(errored.status_message).toBe('Unauthorized');
  const fresh = fakeBotToken();
  expect((await api(apiKey).patch(`/api/channels/${created.body.id}`, { config: { bot_token: fresh } })).status).toBe(200);
  await channelStatus(apiKey, created.body.id, 'connected');
  expect(telegram.webhookInfo(fresh)?.url).toBe(created.body.callback_url);
});

test('deactivating: webhook removed, replies refused, inbound acknowledged but ignored, history kept', async () => {
  const { apiKey } = await createAccount(stack, 'mini');
  const token = fakeBotToken();
  const created = await api(apiKey).post('/api/channels', { type: 'telegram', config: { bot_token: token } });
  await channelStatus(apiKey, created.body.id, 'connected');
  await telegram.customerSends(token, { chatId: 5151, firstName: 'Hal', text: 'before' });
  const conv = await eventually(async () => (await api(apiKey).get('/api/conversations')).body.data[0]);
  const secret = telegram.webhookInfo(token)!.secret_token!;

  const off = await api(apiKey).patch(`/api/channels/${created.body.id}`, { is_active: false });
  expect(off.status).toBe(200);
  expect(off.body.is_active).toBe(false);
  await eventually(async () => telegram.calls('deleteWebhook').some((c) => c.token === token && c.status === 200), 30_000, 'deleteWebhook');

  const reply = await api(apiKey).post(`/api/conversations/${conv.id}/messages`, { content: 'hello?' });
  expect(reply.status).toBe(409);
  expect(reply.body.error.code).toBe('channel_inactive');

  // Telegram may still deliver an update sent before the webhook went away.
  const late = { update_id: 777, message: { message_id: 99, date: 1700000000, chat: { id: 5151, type: 'private', first_name: 'Hal' }, text: 'after' } };
  const res = await request(stack.url, 'POST', `/webhooks/telegram/${created.body.id}`, {
    json: late,
    headers: { 'x-telegram-bot-api-secret-token': secret },
  });
  expect(res.status).toBe(200);
  const ignored = await stack.db('ignored_events').where({ channel_id: created.body.id });
  expect(ignored).toEqual([expect.objectContaining({ reason: 'channel_inactive', platform_event_id: '777' })]);

  const msgs = await api(apiKey).get(`/api/conversations/${conv.id}/messages`);
  expect(msgs.status).toBe(200);
  expect(msgs.body.data.map((m: any) => m.content)).toEqual(['before']);
});
