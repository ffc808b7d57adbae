/**
 * Keeping a channel in order, as an admin and an operator do it: its own secrets
 * (webhook_secret, verify_token) sealed at rest and rotated on demand, every stored secret
 * re-sealed by `pingback keys rotate`, and its platform asked how it stands (health).
 * Against the real api, worker, PostgreSQL and the Telegram fake.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { openChannelSecret, openConfig, sealChannelSecret, sealConfig } from '../../src/channels/credentials';
import { createAccount as createDbAccount } from '../../src/db/accounts';
import { createDb } from '../../src/db/knex';
import { dropDatabase, ensureDatabase, migrateLatest } from '../../src/db/migrate';
import { SecretBox } from '../../src/crypto/secret-box';
import { requireReconnect } from '../../src/db/channel-status';
import { sealV1 } from '../helpers/legacy-seal';
import { TelegramFake } from '../../src/sandbox/telegram';
import { accountWithAdmin, invite } from '../helpers/agents';
import { channelSecret, connectTelegramChannel, createAccount, eventually, request, Stack, stackWithFake, TEST_ENCRYPTION_KEY } from '../helpers/stack';

let telegram: TelegramFake;
let stack: Stack;
stackWithFake(
  () => TelegramFake.start({ allowHttpWebhooks: true }),
  (fake) => ({ TELEGRAM_API_BASE_URL: fake.baseUrl }),
  (s, f) => ((stack = s), (telegram = f)),
);

const update = (id: number) => ({ update_id: id, message: { message_id: id, date: 1700000000, chat: { id: 5, type: 'private', first_name: 'X' }, text: `hi ${id}` } });
const postUpdate = (channelId: string, secret: string, id: number) =>
  request(stack.url, 'POST', `/webhooks/telegram/${channelId}`, { json: update(id), headers: { 'x-telegram-bot-api-secret-token': secret } });
const handshake = (callbackUrl: string, token: string) => {
  const u = new URL(callbackUrl);
  return request(stack.url, 'GET', `${u.pathname}?hub.mode=subscribe&hub.challenge=12345&hub.verify_token=${encodeURIComponent(token)}`);
};

test('webhook_secret and verify_token are stored sealed; the api still shows the verify token to paste', async () => {
  const { apiKey } = await createAccount(stack, 'mini');
  const ch = await request(stack.url, 'POST', '/api/channels', { token: apiKey, json: { type: 'webchat', config: {} } });
  expect(ch.status).toBe(201);
  const row = await stack.db('channels').where({ id: ch.body.id }).first('webhook_secret', 'verify_token');
  expect(row.webhook_secret).toMatch(/^enc:v2:/);
  expect(row.verify_token).toMatch(/^enc:v2:/);
  expect(ch.body.verify_token).toMatch(/^[A-Za-z0-9_-]{32}$/);
  expect(row.verify_token).not.toContain(ch.body.verify_token);
  expect(await channelSecret(stack, ch.body.id, 'verify_token')).toBe(ch.body.verify_token);
});

test('rotating a Telegram channel re-registers its webhook: the old secret is refused, the new one taken', async () => {
  const { apiKey, token, channelId } = await connectTelegramChannel(stack);
  const oldSecret = telegram.webhookInfo(token)!.secret_token!;
  expect((await postUpdate(channelId, oldSecret, 1)).status).toBe(200);

  const rotated = await request(stack.url, 'POST', `/api/channels/${channelId}/rotate-secrets`, { token: apiKey });
  expect(rotated.status).toBe(200);
  expect(rotated.body).toMatchObject({ id: channelId, status: 'pending', status_message: 'registering with the platform' });
  const newSecret = await eventually(async () => {
    const s = telegram.webhookInfo(token)?.secret_token;
    return s !== oldSecret ? s : undefined;
  }, 30_000, 'the webhook registered with a new secret');
  expect(newSecret).toBe(await channelSecret(stack, channelId));
  await eventually(async () => (await request(stack.url, 'GET', `/api/channels/${channelId}`, { token: apiKey })).body.status === 'connected', 30_000, 'connected again');

  const old = await postUpdate(channelId, oldSecret, 2);
  expect(old.status).toBe(401);
  expect((await postUpdate(channelId, newSecret!, 3)).status).toBe(200);
});

test("rotating a WhatsApp channel's verify token: Meta's handshake with the old one is refused, the new one answered", async () => {
  const { apiKey } = await createAccount(stack, 'mini');
  const config = { access_token: `EAAG${randomBytes(16).toString('hex')}`, phone_number_id: '106540352242922', app_secret: randomBytes(16).toString('hex') };
  const ch = await request(stack.url, 'POST', '/api/channels', { token: apiKey, json: { type: 'whatsapp', config } });
  expect(ch.status).toBe(201);
  expect((await handshake(ch.body.callback_url, ch.body.verify_token)).text).toBe('12345');

  const rotated = await request(stack.url, 'POST', `/api/channels/${ch.body.id}/rotate-secrets`, { token: apiKey });
  expect(rotated.status).toBe(200);
  expect(rotated.body.verify_token).not.toBe(ch.body.verify_token);
  expect(rotated.body.config.access_token).toBe(`********${config.access_token.slice(-4)}`);
  expect((await handshake(ch.body.callback_url, ch.body.verify_token)).status).toBe(403);
  const fresh = await handshake(ch.body.callback_url, rotated.body.verify_token);
  expect(fresh.status).toBe(200);
  expect(fresh.text).toBe('12345');
});

test('rotating a web chat channel signs its visitors out; agents may not rotate', async () => {
  const { admin } = await accountWithAdmin(stack, 'mini');
  const ch = await admin.call('POST', '/api/channels', { json: { type: 'webchat', config: {} } });
  const visitor = await request(stack.url, 'POST', `/widget/${ch.body.id}/visitors`);
  const read = (t: string) => request(stack.url, 'GET', `/widget/${ch.body.id}/messages`, { token: t });
  expect((await read(visitor.body.token)).status).toBe(200);

  const agent = await invite(stack, admin, 'agent');
  const refused = await agent.call('POST', `/api/channels/${ch.body.id}/rotate-secrets`);
  expect(refused.status).toBe(403);
  expect((await read(visitor.body.token)).status).toBe(200);

  expect((await admin.call('POST', `/api/channels/${ch.body.id}/rotate-secrets`)).status).toBe(200);
  const after = await read(visitor.body.token);
  expect(after.status).toBe(401);
  expect(after.body.error.code).toBe('invalid_visitor_token');
  expect((await request(stack.url, 'POST', `/widget/${ch.body.id}/visitors`)).status).toBe(201);
});

/**
 * `pingback keys rotate` as an operator runs it, on a database of its own: the suite's
 * shared one holds other suites' channels, sealed with keys of their own.
 */
test('pingback keys rotate re-seals what an old key, the old format or no seal at all left, so the old key can go', async () => {
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/pingback_keys_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(url.toString());
  await migrateLatest(url.toString());
  const db = createDb(url.toString(), { max: 2 });
  try {
    const { account } = await createDbAccount(db, { name: 'keys', plan: 'mini' });
    // Channels as an older PingBack left them: credentials under a key since retired, their own secrets in plain text.
    const oldKey = randomBytes(32);
    const oldBox = new SecretBox(oldKey);
    const ids = [randomUUID(), randomUUID()];
    // One under the retired key, one in the format before keys were per purpose (under the current key).
    const configs = [sealConfig(oldBox, 'telegram', { bot_token: `tok-${ids[0]}` }, ids[0]), { bot_token: sealV1(Buffer.from(TEST_ENCRYPTION_KEY, 'hex'), `tok-${ids[1]}`) }];
    for (const [i, id] of ids.entries()) {
      await db('channels').insert({ id, account_id: account.id, type: 'telegram', name: 't', config: JSON.stringify(configs[i]), webhook_secret: `ws-${id}`, verify_token: `vt-${id}` });
    }
    const cli = (key: string, oldKeys: string) =>
      promisify(execFile)(path.join(__dirname, '../../node_modules/.bin/tsx'), ['src/cli.ts', 'keys', 'rotate', '--json'], {
        cwd: path.join(__dirname, '../..'),
        env: { ...process.env, DATABASE_URL: url.toString(), PINGBACK_ENCRYPTION_KEY: key, PINGBACK_ENCRYPTION_OLD_KEYS: oldKeys, PINGBACK_ADMIN_TOKEN: 'x'.repeat(20) },
      }).then((r) => ({ exitCode: 0, ...JSON.parse(r.stdout) }), (err) => ({ exitCode: err.code, ...JSON.parse(err.stdout) }));

    expect(await cli(TEST_ENCRYPTION_KEY, oldKey.toString('hex'))).toMatchObject({ exitCode: 0, channels: 2, resealed: 2, values: 6, failed: [] });
    // What every process with only the new key now reads.
    const current = new SecretBox(Buffer.from(TEST_ENCRYPTION_KEY, 'hex'));
    for (const id of ids) {
      const row = await db('channels').where({ id }).first();
      for (const v of [row.config.bot_token, row.webhook_secret, row.verify_token]) expect(current.isCurrent(v)).toBe(true);
      expect(openConfig(current, 'telegram', row.config, id)).toEqual({ bot_token: `tok-${id}` });
      expect([openChannelSecret(current, row, 'webhook_secret'), openChannelSecret(current, row, 'verify_token')]).toEqual([`ws-${id}`, `vt-${id}`]);
    }
    expect(await cli(TEST_ENCRYPTION_KEY, '')).toMatchObject({ exitCode: 0, channels: 2, resealed: 0, values: 0, failed: [] });

    // A value sealed with a key nobody configured is named, left as it was, and the command fails; the other channel is unharmed.
    const stray = sealChannelSecret(new SecretBox(randomBytes(32)), ids[0], 'verify_token', 'x');
    await db('channels').where({ id: ids[0] }).update({ verify_token: stray });
    const failing = await cli(TEST_ENCRYPTION_KEY, '');
    expect(failing).toMatchObject({ exitCode: 1, resealed: 0, failed: [{ channel_id: ids[0], error: expect.stringMatching(/unknown key/) }] });
    expect((await db('channels').where({ id: ids[0] }).first('verify_token')).verify_token).toBe(stray);
  } finally {
    await db.destroy();
    await dropDatabase(url.toString());
  }
});

test("health asks Telegram now: where the webhook points and what failed; a refused token is the platform's answer, not an error", async () => {
  const { apiKey, token, channelId } = await connectTelegramChannel(stack);
  const health = (await request(stack.url, 'GET', `/api/channels/${channelId}/health`, { token: apiKey })).body;
  expect(health).toMatchObject({
    ok: true,
    status: 'connected',
    account: expect.stringMatching(/^@/),
    details: { webhook_url: `${stack.config.PUBLIC_BASE_URL}/webhooks/telegram/${channelId}`, pending_update_count: 0, last_error_message: null },
    problems: [],
    error: null,
  });

  // Someone pointed the bot elsewhere (another tool's setWebhook).
  await fetch(`${telegram.baseUrl}/bot${token}/setWebhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://elsewhere.example/hook' }) });
  const moved = (await request(stack.url, 'GET', `/api/channels/${channelId}/health`, { token: apiKey })).body;
  expect(moved).toMatchObject({ ok: false, problems: ["the bot's webhook points at https://elsewhere.example/hook, not at this channel"] });

  telegram.failNext('getMe', { kind: 'unauthorized' });
  const refused = await request(stack.url, 'GET', `/api/channels/${channelId}/health`, { token: apiKey });
  expect(refused.status).toBe(200);
  expect(refused.body).toMatchObject({ ok: false, error: { kind: 'auth' } });
});

test('health of a web chat channel is PingBack itself; an agent may not ask', async () => {
  const { admin } = await accountWithAdmin(stack, 'mini');
  const ch = await admin.call('POST', '/api/channels', { json: { type: 'webchat', config: {} } });
  expect((await admin.call('GET', `/api/channels/${ch.body.id}/health`)).body).toMatchObject({ ok: true, account: null, problems: [], error: null });
  const agent = await invite(stack, admin, 'agent');
  expect((await agent.call('GET', `/api/channels/${ch.body.id}/health`)).status).toBe(403);
});

test('a refusal of credentials already replaced does not undo the reconnect; the moment is marked once', async () => {
  const { channelId } = await connectTelegramChannel(stack);
  const { config } = await stack.db('channels').where({ id: channelId }).first('config');
  const stale = { ...config, bot_token: 'enc:v2:old:credentials' };
  expect(await requireReconnect(stack.db, channelId, 'credentials rejected: Unauthorized', stale)).toBe(false);
  expect((await stack.db('channels').where({ id: channelId }).first('status')).status).toBe('connected');
  expect(await requireReconnect(stack.db, channelId, 'credentials rejected: Unauthorized', config)).toBe(true);
  expect(await requireReconnect(stack.db, channelId, 'credentials rejected: Unauthorized', config)).toBe(false);
  expect(await stack.db('channels').where({ id: channelId }).first('status', 'status_message')).toEqual({ status: 'reconnect_required', status_message: 'credentials rejected: Unauthorized' });
});
