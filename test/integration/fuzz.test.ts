import fc from 'fast-check';
import { signMetaPayload } from '../../src/channels/meta/signature';
import { newVisitorToken } from '../../src/channels/webchat/visitor-token';
import { webhookSignature } from '../../src/channels/x/webhook';
import { recordPlatformAccount } from '../../src/db/channel-state';
import { fixtureFiles } from '../helpers/fixtures';
import { digits } from '../helpers/meta-channels';
import { channelSecret, createAccount, eventually, fakeBotToken, request, Stack, startStack } from '../helpers/stack';

/**
 * Every public endpoint, fed what an attacker or a broken platform might send (fast-check): a
 * real payload with one field replaced by anything or removed, arbitrary JSON (deep, huge, any
 * Unicode, NUL, lone surrogates), arbitrary bytes, a body of the wrong type. Signed as the
 * platform signs, so it reaches the parsers. The answer is always 2xx or a 4xx with
 * {"error":{"code","message"}}: never a 5xx or a hang, and a refusal writes nothing.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const ran: Record<string, number> = {};
afterAll(() => console.log(`fuzz cases per endpoint: ${JSON.stringify(ran)}`));

/** Every leaf path of a JSON value. */
function leafPaths(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(v)) return v.length ? v.flatMap((x, i) => leafPaths(x, [...at, i])) : [at];
  if (v && typeof v === 'object') return Object.keys(v).length ? Object.entries(v).flatMap(([k, x]) => leafPaths(x, [...at, k])) : [at];
  return [at];
}

/** A real payload with one leaf (or the object above it) replaced by anything, or removed. */
function mutated(bases: unknown[]): fc.Arbitrary<unknown> {
  return fc.tuple(fc.nat(), fc.nat(), fc.nat(3), fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), fc.boolean()).map(([b, i, up, value, remove]) => {
    const base = structuredClone(bases[b % bases.length]) as any;
    const paths = leafPaths(base);
    const path = paths[i % paths.length].slice(0, Math.max(1, paths[i % paths.length].length - up));
    if (path.length === 0) return value;
    let parent = base;
    for (const key of path.slice(0, -1)) parent = parent[key];
    if (remove) delete parent[path[path.length - 1]];
    else parent[path[path.length - 1]] = value;
    return base;
  });
}

/** What may arrive as a platform's body: bytes, since a signature covers bytes. */
function bodies(bases: unknown[]): fc.Arbitrary<Buffer> {
  const json = (a: fc.Arbitrary<unknown>) => a.map((v) => Buffer.from(JSON.stringify(v) ?? 'null'));
  return fc.oneof(
    { weight: 4, arbitrary: json(mutated(bases)) },
    { weight: 2, arbitrary: json(fc.jsonValue({ maxDepth: 6, stringUnit: 'binary' })) },
    // Deep nesting, and one huge string.
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 5000 }).map((n) => Buffer.from('['.repeat(n) + ']'.repeat(n))) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 900_000 }).map((n) => Buffer.from(JSON.stringify({ text: 'x'.repeat(n) }))) },
    // Not JSON, not UTF-8.
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)) },
  );
}

/** The answer's shape, and that a refusal wrote nothing for the channel. */
async function check(endpoint: string, channelId: string, send: () => Promise<{ status: number; body: any; text: string }>) {
  const before = await writes(channelId);
  const res = await send();
  ran[endpoint] = (ran[endpoint] ?? 0) + 1;
  if (res.status >= 500 || res.status < 200) throw new Error(`${endpoint}: ${res.status} ${res.text.slice(0, 300)}`);
  if (res.status >= 400) {
    if (typeof res.body?.error?.code !== 'string' || typeof res.body?.error?.message !== 'string') throw new Error(`${endpoint}: ${res.status} without the error shape: ${res.text.slice(0, 300)}`);
    const after = await writes(channelId);
    if (after !== before) throw new Error(`${endpoint}: refused with ${res.status} but wrote: ${before} → ${after}`);
  }
}

/** Rows a delivery could have written for a channel. */
async function writes(channelId: string): Promise<string> {
  const [{ n: ignored }] = await stack.db('ignored_events').where({ channel_id: channelId }).count({ n: '*' });
  const [{ n: media }] = await stack.db('stored_media').where({ channel_id: channelId }).count({ n: '*' });
  return `${ignored}/${media}`;
}

const property = (arb: fc.Arbitrary<Buffer>, run: (body: Buffer) => Promise<void>) =>
  fc.assert(fc.asyncProperty(arb, run), { numRuns: RUNS, endOnFailure: true });

test('Telegram webhook', async () => {
  const { apiKey } = await createAccount(stack, 'mini');
  const ch = await request(stack.url, 'POST', '/api/channels', { token: apiKey, json: { type: 'telegram', config: { bot_token: fakeBotToken() } } });
  const webhook_secret = await channelSecret(stack, ch.body.id);
  await property(bodies(fixtureFiles('telegram', 'update-').map((f) => f.body)), (body) =>
    check('POST /webhooks/telegram', ch.body.id, () =>
      request(stack.url, 'POST', `/webhooks/telegram/${ch.body.id}`, { body: body as any, headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': webhook_secret } }),
    ),
  );
  // Whatever got through, the channel's conversations still take messages: an ordinary one is stored.
  const update = structuredClone(fixtureFiles('telegram', 'update-message-text.json')[0].body);
  update.update_id = 990_000_001;
  update.message.message_id = 990_000_001;
  update.message.text = 'still working after the fuzz';
  const ok = await request(stack.url, 'POST', `/webhooks/telegram/${ch.body.id}`, { json: update, headers: { 'x-telegram-bot-api-secret-token': webhook_secret } });
  expect(ok.status).toBe(200);
  await eventually(async () => (await stack.db('messages as m').join('conversations as c', 'c.id', 'm.conversation_id').where({ 'c.channel_id': ch.body.id, 'm.content': 'still working after the fuzz' }).first()) ?? undefined, 30_000, 'the ordinary message stored');
});

test.each(['whatsapp', 'instagram'] as const)('%s webhook', async (type) => {
  const { apiKey } = await createAccount(stack, 'mini');
  const appSecret = 'fuzz-app-secret-0123456789abcdef';
  const config = type === 'whatsapp' ? { access_token: 'EAAGfuzz', phone_number_id: digits(15), app_secret: appSecret } : { access_token: 'EAAGfuzz', page_id: digits(15), app_secret: appSecret };
  const ch = await request(stack.url, 'POST', '/api/channels', { token: apiKey, json: { type, config } });
  expect(ch.status).toBe(201);
  const bases = fixtureFiles(type, 'message-').map((f) => f.body);
  await property(bodies(bases), (body) =>
    check(`POST /webhooks/${type}`, ch.body.id, () =>
      request(stack.url, 'POST', `/webhooks/${type}/${ch.body.id}`, { body: body as any, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaPayload(body, appSecret) } }),
    ),
  );
});

test('X webhook', async () => {
  const { apiKey } = await createAccount(stack, 'mini');
  const apiSecret = 'fuzz-consumer-secret-0123456789';
  const config = { api_key: 'k', api_secret: apiSecret, access_token: 't', access_token_secret: 's', inbound: 'webhook' };
  const ch = await request(stack.url, 'POST', '/api/channels', { token: apiKey, json: { type: 'x', config } });
  expect(ch.status).toBe(201);
  // The channel's own account, as the setup workflow would have learned it (X itself is not here).
  await recordPlatformAccount(stack.db, ch.body.id, '1111111111');
  const bases = fixtureFiles('x', 'aaa-').map((f) => ({ ...f.body, for_user_id: '1111111111' }));
  await property(bodies(bases), (body) =>
    check('POST /webhooks/x', ch.body.id, () =>
      request(stack.url, 'POST', `/webhooks/x/${ch.body.id}`, { body: body as any, headers: { 'content-type': 'application/json', 'x-twitter-webhooks-signature': webhookSignature(apiSecret, body) } }),
    ),
  );
});

test('email webhook', async () => {
  const { apiKey } = await createAccount(stack, 'mini');
  const config = { address: 'support@fuzz.test', smtp: { host: '127.0.0.1', port: 9, secure: false, user: 'u', password: 'p' }, inbound: { method: 'webhook' } };
  const ch = await request(stack.url, 'POST', '/api/channels', { token: apiKey, json: { type: 'email', config } });
  expect(ch.status).toBe(201);
  const auth = `Basic ${Buffer.from(`p:${ch.body.verify_token}`).toString('base64')}`;
  const mail = (headers: string, text: string) => Buffer.from(`${headers}\r\n\r\n${text}`);
  const mails = fc.oneof(
    fc.tuple(fc.string({ unit: 'binary', maxLength: 2000 }), fc.string({ unit: 'binary', maxLength: 5000 })).map(([h, t]) => mail(`From: a@b.c\r\nMessage-ID: <${h}>\r\nSubject: ${h}`, t)),
    fc.uint8Array({ maxLength: 5000 }).map((b) => Buffer.concat([Buffer.from('From: x@y.z\r\n'), Buffer.from(b)])),
    fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
  );
  await property(mails, (body) =>
    check('POST /webhooks/email', ch.body.id, () =>
      request(stack.url, 'POST', `/webhooks/email/${ch.body.id}`, { body: body as any, headers: { 'content-type': 'message/rfc822', authorization: auth } }),
    ),
  );
});

test('web chat widget messages', async () => {
  const { apiKey } = await createAccount(stack, 'free');
  const ch = await request(stack.url, 'POST', '/api/channels', { token: apiKey, json: { type: 'webchat', config: { allowed_domains: ['shop.example.com'] } } });
  const webhook_secret = await channelSecret(stack, ch.body.id);
  const bases = [{ content: 'hello', id: 'c1' }, { content: 'with a file', id: 'c2', attachments: ['00000000-0000-4000-8000-000000000000'] }];
  await property(bodies(bases), async (body) => {
    // A visitor each: the per-visitor limit is not what is under test.
    const { token } = newVisitorToken(ch.body.id, webhook_secret, { ttlMs: 86_400_000 });
    await check('POST /widget/:id/messages', ch.body.id, () =>
      request(stack.url, 'POST', `/widget/${ch.body.id}/messages`, { body: body as any, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, origin: 'https://shop.example.com' } }),
    );
  });
});

test('JSON API bodies: creating channels, changing conversations, replying', async () => {
  const { apiKey } = await createAccount(stack, 'pro');
  const dummy = '00000000-0000-4000-8000-000000000000';
  const routes: Array<[string, string, unknown[]]> = [
    ['POST', '/api/channels', [{ type: 'telegram', config: { bot_token: fakeBotToken() } }, { type: 'webchat', name: 'x', config: { allowed_domains: ['a.example'] } }]],
    ['PATCH', `/api/conversations/${dummy}`, [{ status: 'snoozed', snoozed_until: '2030-01-01T00:00:00Z' }, { assignee_id: null }]],
    ['POST', `/api/conversations/${dummy}/messages`, [{ content: 'hi', attachments: [] }]],
    ['POST', '/api/api-keys', [{ name: 'k' }]],
  ];
  for (const [method, path, bases] of routes) {
    await property(bodies(bases), (body) =>
      check(`${method} ${path.replace(dummy, ':id')}`, dummy, () => request(stack.url, method, path, { token: apiKey, body: body as any, headers: { 'content-type': 'application/json' } })),
    );
  }
});
