import Ajv2020 from 'ajv/dist/2020';
import { randomUUID } from 'node:crypto';
import { openApiDocument } from '../../src/api/openapi';
import { MetaFake } from '../../src/sandbox/meta';
import { TelegramFake } from '../../src/sandbox/telegram';
import { XFake } from '../../src/sandbox/x';
import { accountWithAdmin, invite, type Session, uniqueEmail } from '../helpers/agents';
import { composeMail, MAIL_TLS_CA_FILE, MailProvider } from '../helpers/mail-provider';
import { digits, metaChannel } from '../helpers/meta-channels';
import { ADMIN_TOKEN, connectTelegramChannel, createAccount, eventually, type HttpResult, request, Stack, startStack } from '../helpers/stack';
import { xTestKit } from '../helpers/x';

/**
 * The response schemas /openapi.json documents are what the API answers: real answers, from a
 * real stack, validated against the published document (its $refs included) with a JSON Schema
 * validator, not against the zod schemas it was made from.
 */
let telegram: TelegramFake;
let meta: MetaFake;
let x: XFake;
let mail: MailProvider;
let stack: Stack;
let apiKey: string;
let channelId: string;
let conversationId: string;

// The document as served, every schema reachable by its JSON pointer.
const doc = JSON.parse(JSON.stringify(openApiDocument()));
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema(stripSchemaKeyword(doc), 'openapi');

/** zod writes $schema into each component; a validator wants it at a document's root only. */
function stripSchemaKeyword(value: any): any {
  if (Array.isArray(value)) return value.map(stripSchemaKeyword);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== '$schema').map(([k, v]) => [k, stripSchemaKeyword(v)]));
}

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** Every documented answer checked against a real one, as `METHOD path status`. */
const checked = new Set<string>();

/** Checks an answer against the schema the document gives for this path, method and status. */
function expectDocumented(path: string, method: string, res: Pick<HttpResult, 'status' | 'body'>) {
  checked.add(`${method.toUpperCase()} ${path} ${res.status}`);
  const op = doc.paths[path]?.[method.toLowerCase()];
  expect(op?.responses?.[res.status]?.content?.['application/json']?.schema).toBeDefined();
  const validate = ajv.getSchema(`openapi#/${pointer('paths', path, method.toLowerCase(), 'responses', String(res.status), 'content', 'application/json', 'schema')}`)!;
  const valid = validate(res.body);
  expect({ path, method, status: res.status, errors: valid ? null : validate.errors }).toEqual({ path, method, status: res.status, errors: null });
}

/** What a platform's fake got back from a webhook, as an answer to check. */
const answered = (delivery: { status: number; body: string }) => ({ status: delivery.status, body: JSON.parse(delivery.body) });

let telegramDelivery: { status: number; body: string };
beforeAll(async () => {
  [telegram, meta, x, mail] = await Promise.all([TelegramFake.start({ allowHttpWebhooks: true }), MetaFake.start(), XFake.start(), MailProvider.start()]);
  stack = await startStack({ TELEGRAM_API_BASE_URL: telegram.baseUrl, META_GRAPH_BASE_URL: meta.baseUrl, X_API_BASE_URL: x.baseUrl, EMAIL_TLS_CA_FILE: MAIL_TLS_CA_FILE });
  const connected = await connectTelegramChannel(stack);
  ({ apiKey, channelId } = connected);
  telegramDelivery = await telegram.customerSends(connected.token, { chatId: 990700, firstName: 'Schema', text: 'does it match?' });
  conversationId = await eventually(async () => (await request(stack.url, 'GET', '/api/conversations', { token: apiKey })).body.data[0]?.id);
});
afterAll(async () => {
  await stack?.stop();
  await Promise.all([telegram?.stop(), meta?.stop(), x?.stop(), mail?.stop()]);
});

test('the inbox: conversations, one conversation, its timeline, a reply', async () => {
  expectDocumented('/api/conversations', 'GET', await request(stack.url, 'GET', '/api/conversations', { token: apiKey }));
  const one = await request(stack.url, 'GET', `/api/conversations/${conversationId}`, { token: apiKey });
  expect(one.body.live).not.toBeUndefined();
  expectDocumented('/api/conversations/{id}', 'GET', one);
  const reply = await request(stack.url, 'POST', `/api/conversations/${conversationId}/messages`, { token: apiKey, json: { content: 'it does', client_id: randomUUID() } });
  expect(reply.status).toBe(202);
  expectDocumented('/api/conversations/{id}/messages', 'POST', reply);
  const again = await request(stack.url, 'POST', `/api/conversations/${conversationId}/messages`, { token: apiKey, json: { content: 'it does', client_id: reply.body.client_id } });
  expect(again.status).toBe(200);
  expectDocumented('/api/conversations/{id}/messages', 'POST', again);
  const timeline = await request(stack.url, 'GET', `/api/conversations/${conversationId}/messages`, { token: apiKey });
  expect(timeline.body.data.map((e: { kind: string }) => e.kind)).toEqual(['customer_message', 'reply']);
  expectDocumented('/api/conversations/{id}/messages', 'GET', timeline);
});

test('channels, whole for an API key and an admin, a summary for an agent; and who is asking', async () => {
  const { admin } = await accountWithAdmin(stack);
  const agent: Session = await invite(stack, admin, 'agent');
  const created = await admin.call('POST', '/api/channels', { json: { type: 'webchat', name: 'Site', config: { allowed_domains: ['example.test'] } } });
  expect(created.status).toBe(201);
  expectDocumented('/api/channels', 'POST', created);
  for (const [who, get] of [
    ['api key', (p: string) => request(stack.url, 'GET', p, { token: apiKey })],
    ['admin', (p: string) => admin.call('GET', p)],
    ['agent', (p: string) => agent.call('GET', p)],
  ] as const) {
    const list = await get('/api/channels');
    expect([who, list.status, list.body.data.length]).toEqual([who, 200, 1]);
    expectDocumented('/api/channels', 'GET', list);
    const id = who === 'api key' ? channelId : created.body.id;
    const one = await get(`/api/channels/${id}`);
    expect([who, 'callback_url' in one.body]).toEqual([who, who !== 'agent']);
    expectDocumented('/api/channels/{id}', 'GET', one);
    expectDocumented('/api/me', 'GET', await get('/api/me'));
  }
});

test('the operator API: an account made (with and without its first admin), read, changed; a key issued', async () => {
  const admin = (method: string, path: string, json?: unknown) => request(stack.url, method, path, { token: ADMIN_TOKEN, json });
  const plain = await admin('POST', '/admin/accounts', { name: 'Schema plain', plan: 'mini' });
  expect(plain.status).toBe(201);
  expectDocumented('/admin/accounts', 'POST', plain);
  const withAdmin = await admin('POST', '/admin/accounts', { name: 'Schema admin', admin_email: uniqueEmail('admin'), admin_name: 'Ada' });
  expect(Object.keys(withAdmin.body)).toEqual(expect.arrayContaining(['admin_user_id', 'admin_set_password_url', 'admin_set_password_expires_at']));
  expectDocumented('/admin/accounts', 'POST', withAdmin);

  const id = plain.body.account_id;
  expectDocumented('/admin/accounts/{id}', 'GET', await admin('GET', `/admin/accounts/${id}`));
  const changed = await admin('PATCH', `/admin/accounts/${id}`, { name: 'Schema renamed', plan: 'pro' });
  expect(changed.body).toMatchObject({ name: 'Schema renamed', plan: 'pro' });
  expectDocumented('/admin/accounts/{id}', 'PATCH', changed);
  const key = await admin('POST', `/admin/accounts/${id}/api-keys`, { name: 'ci' });
  expect(key.status).toBe(201);
  expectDocumented('/admin/accounts/{id}/api-keys', 'POST', key);
});

test("the account and its keys (one revoked), the team's invitations and links, what can be connected", async () => {
  const account = await request(stack.url, 'GET', '/api/account', { token: apiKey });
  expect(account.body.usage.active_channels_by_type).toEqual({ telegram: 1 });
  expectDocumented('/api/account', 'GET', account);
  const issued = await request(stack.url, 'POST', '/api/api-keys', { token: apiKey, json: { name: 'to revoke' } });
  expect(issued.status).toBe(201);
  expectDocumented('/api/api-keys', 'POST', issued);
  expect((await request(stack.url, 'DELETE', `/api/api-keys/${issued.body.id}`, { token: apiKey })).status).toBe(204);
  const keys = await request(stack.url, 'GET', '/api/api-keys', { token: apiKey });
  expect(keys.body.data.find((k: { id: string }) => k.id === issued.body.id).revoked_at).toEqual(expect.any(String));
  expectDocumented('/api/api-keys', 'GET', keys);

  const { admin } = await accountWithAdmin(stack, 'free');
  const invited = await admin.call('POST', '/api/users/invitations', { json: { email: uniqueEmail('agent'), name: 'Ana', role: 'agent' } });
  expect(invited.status).toBe(201);
  expectDocumented('/api/users/invitations', 'POST', invited);
  const reset = await admin.call('POST', `/api/users/${invited.body.user.id}/password-reset`);
  expect(reset.status).toBe(201);
  expectDocumented('/api/users/{id}/password-reset', 'POST', reset);
  const types = await admin.call('GET', '/api/channel-types');
  expect(types.body.data.some((t: { plan_needed: string | null }) => t.plan_needed !== null)).toBe(true);
  expectDocumented('/api/channel-types', 'GET', types);
});

test('probes: /livez, /readyz, /healthz', async () => {
  for (const path of ['/livez', '/readyz', '/healthz']) {
    const res = await request(stack.url, 'GET', path);
    expect([path, res.status]).toEqual([path, 200]);
    expectDocumented(path, 'GET', res);
  }
});

test("the operator's codec: payloads encoded, and decoded back", async () => {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const plain = { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('"does it match?"') }] };
  const encoded = await request(stack.url, 'POST', '/codec/encode', { token: ADMIN_TOKEN, json: plain });
  expect(encoded.status).toBe(200);
  expectDocumented('/codec/encode', 'POST', encoded);
  const decoded = await request(stack.url, 'POST', '/codec/decode', { token: ADMIN_TOKEN, json: encoded.body });
  expect(decoded.body).toEqual(plain);
  expectDocumented('/codec/decode', 'POST', decoded);
});

test("channel health: Telegram asked, Telegram refusing, a web chat channel (PingBack itself)", async () => {
  const path = `/api/channels/${channelId}/health`;
  const asked = await request(stack.url, 'GET', path, { token: apiKey });
  expect(asked.body).toMatchObject({ ok: true, error: null });
  expectDocumented('/api/channels/{id}/health', 'GET', asked);
  telegram.failNext('getMe', { kind: 'unauthorized' });
  const refused = await request(stack.url, 'GET', path, { token: apiKey });
  expect(refused.body).toMatchObject({ ok: false, error: { kind: 'auth' } });
  expectDocumented('/api/channels/{id}/health', 'GET', refused);
  const { admin } = await accountWithAdmin(stack, 'free');
  const webchat = await admin.call('POST', '/api/channels', { json: { type: 'webchat', config: {} } });
  expectDocumented('/api/channels/{id}/health', 'GET', await admin.call('GET', `/api/channels/${webchat.body.id}/health`));
});

test('a failed reply retried', async () => {
  const { apiKey: key, token } = await connectTelegramChannel(stack);
  await telegram.customerSends(token, { chatId: 990701, firstName: 'Retry', text: 'anyone?' });
  const conv = await eventually(async () => (await request(stack.url, 'GET', '/api/conversations', { token: key })).body.data[0]?.id);
  telegram.failNext('sendMessage', { kind: 'blocked' });
  const written = await request(stack.url, 'POST', `/api/conversations/${conv}/messages`, { token: key, json: { content: 'still there?' } });
  await eventually(async () => (await request(stack.url, 'GET', `/api/conversations/${conv}/messages`, { token: key })).body.data.find((e: { id: string; status: string }) => e.id === written.body.id && e.status === 'failed'), 30_000, 'the reply failed');
  const retried = await request(stack.url, 'POST', `/api/messages/${written.body.id}/retry`, { token: key });
  expect(retried.status).toBe(202);
  expectDocumented('/api/messages/{id}/retry', 'POST', retried);
});

test("the web chat widget's answers, files both ways, and a read marker", async () => {
  const { apiKey: key, admin } = await accountWithAdmin(stack, 'free');
  const site = 'https://shop.schema.test';
  const channel = (await admin.call('POST', '/api/channels', { json: { type: 'webchat', config: { allowed_domains: ['shop.schema.test'], welcome_message: 'Hi' } } })).body;
  const settings = await request(stack.url, 'GET', `/widget/${channel.id}`, { headers: { origin: site } });
  expectDocumented('/widget/{channelId}', 'GET', settings);
  const visitor = await request(stack.url, 'POST', `/widget/${channel.id}/visitors`, { headers: { origin: site } });
  expect(visitor.status).toBe(201);
  expectDocumented('/widget/{channelId}/visitors', 'POST', visitor);
  const asVisitor = { token: visitor.body.token, headers: { origin: site } };

  const upload = (path: string, token: string, headers: Record<string, string> = {}) =>
    request(stack.url, 'POST', `${path}?id=${uploadId}&name=note.txt`, { token, body: `file ${uploadId}`, headers: { 'content-type': 'text/plain', ...headers } });
  let uploadId = randomUUID();
  const visitorFile = await upload(`/widget/${channel.id}/attachments`, visitor.body.token, { origin: site });
  expect(visitorFile.status).toBe(201);
  expectDocumented('/widget/{channelId}/attachments', 'POST', visitorFile);
  const again = await upload(`/widget/${channel.id}/attachments`, visitor.body.token, { origin: site });
  expect(again.status).toBe(200);
  expectDocumented('/widget/{channelId}/attachments', 'POST', again);
  const said = await request(stack.url, 'POST', `/widget/${channel.id}/messages`, { ...asVisitor, json: { content: 'a file', attachments: [visitorFile.body.id] } });
  expect(said.status).toBe(202);
  expectDocumented('/widget/{channelId}/messages', 'POST', said);

  const conv = await eventually(async () => (await admin.call('GET', '/api/conversations')).body.data[0]);
  uploadId = randomUUID();
  const agentFile = await upload(`/api/conversations/${conv.id}/attachments`, key);
  expect(agentFile.status).toBe(201);
  expectDocumented('/api/conversations/{id}/attachments', 'POST', agentFile);
  const agentAgain = await upload(`/api/conversations/${conv.id}/attachments`, key);
  expect(agentAgain.status).toBe(200);
  expectDocumented('/api/conversations/{id}/attachments', 'POST', agentAgain);
  expect((await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: key, json: { content: 'and one back', attachments: [agentFile.body.id] } })).status).toBe(202);

  const both = await eventually(async () => {
    const r = await request(stack.url, 'GET', `/widget/${channel.id}/messages`, asVisitor);
    return r.body.data?.length === 2 ? r : undefined;
  }, 30_000, "the visitor's message and the agent's reply");
  expect(both.body.data.map((m: { from: string; attachments: unknown[] }) => [m.from, m.attachments.length])).toEqual([['visitor', 1], ['agent', 1]]);
  expectDocumented('/widget/{channelId}/messages', 'GET', both);

  const [first] = (await admin.call('GET', `/api/conversations/${conv.id}/messages`)).body.data;
  const read = await admin.call('POST', `/api/conversations/${conv.id}/read`, { json: { message_id: first.id } });
  expect(read.status).toBe(200);
  expectDocumented('/api/conversations/{id}/read', 'POST', read);
});

test("WhatsApp: a channel's templates, and what its webhook answers Meta (a delivery taken, one set aside)", async () => {
  const { apiKey: key, channel, id, accessToken, appSecret } = await metaChannel(stack, meta, 'whatsapp');
  const wabaId = digits(15);
  meta.addWhatsappNumber({ phoneNumberId: id, accessToken, appSecret, wabaId });
  meta.addTemplate(wabaId, { name: 'order_ready', language: 'en_US', components: [{ type: 'HEADER', format: 'TEXT', text: 'Order {{1}}' }, { type: 'BODY', text: 'Hi {{1}}.' }] });
  meta.addTemplate(wabaId, { name: 'plain', language: 'en', components: [{ type: 'BODY', text: 'Hello.' }] });
  expect((await request(stack.url, 'PATCH', `/api/channels/${channel.id}`, { token: key, json: { config: { business_account_id: wabaId } } })).status).toBe(200);
  const templates = await request(stack.url, 'GET', `/api/channels/${channel.id}/templates`, { token: key });
  expect(templates.body.data).toHaveLength(2);
  expectDocumented('/api/channels/{id}/templates', 'GET', templates);

  const taken = await meta.customerSendsWhatsapp(id, { from: digits(11), name: 'Rui', text: 'hello' });
  expect(answered(taken)).toEqual({ status: 200, body: { ok: true, messages: 1, statuses: 0, ignored: 0 } });
  expectDocumented('/webhooks/whatsapp/{channelId}', 'POST', answered(taken));
  expect((await request(stack.url, 'PATCH', `/api/channels/${channel.id}`, { token: key, json: { is_active: false } })).status).toBe(200);
  const setAside = await meta.customerSendsWhatsapp(id, { from: digits(11), name: 'Ana', text: 'anyone?' });
  expect(answered(setAside).body).toEqual({ ok: true, ignored: 'channel_inactive' });
  expectDocumented('/webhooks/whatsapp/{channelId}', 'POST', answered(setAside));
});

test("Telegram's and X's webhooks: what they answer the platform (X: its CRC check, a DM, a follow)", async () => {
  expectDocumented('/webhooks/telegram/{channelId}', 'POST', answered(telegramDelivery));

  const { customer, xChannel } = xTestKit(() => ({ stack, x }));
  const { acct, channel } = await xChannel({ inbound: 'webhook' });
  await x.registerWebhook(acct.id, channel.callback_url);
  const crc = await request(stack.url, 'GET', `/webhooks/x/${channel.id}?crc_token=schema-check`);
  expect(crc.status).toBe(200);
  expectDocumented('/webhooks/x/{channelId}', 'GET', crc);
  const dm = await x.customerSends(acct.id, { from: customer('Ada'), text: 'hi' }, 'webhook');
  expect(answered(dm.delivery!).body).toEqual({ ok: true, messages: 1 });
  expectDocumented('/webhooks/x/{channelId}', 'POST', answered(dm.delivery!));
  const follow = await x.customerFollows(acct.id, customer('Fan'));
  expectDocumented('/webhooks/x/{channelId}', 'POST', answered(follow));
});

test('the email webhook: a mail taken, and one for a channel switched off', async () => {
  const { apiKey: key } = await createAccount(stack, 'mini');
  const created = await request(stack.url, 'POST', '/api/channels', { token: key, json: { type: 'email', config: mail.channelConfig('webhook') } });
  const channel = await eventually(async () => {
    const r = await request(stack.url, 'GET', `/api/channels/${created.body.id}`, { token: key });
    return r.body.status === 'connected' ? r.body : undefined;
  }, 30_000, 'the email channel connected');
  const post = async (text: string) =>
    request(stack.url, 'POST', new URL(channel.callback_url).pathname, {
      body: (await composeMail({ from: 'ann@customer.example', to: 'support@acme.test', subject: 'Schema', text, messageId: `${randomUUID()}@customer.example` })).toString(),
      headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${channel.verify_token}` },
    });
  const taken = await post('does it match?');
  expect(taken.body).toEqual({ ok: true });
  expectDocumented('/webhooks/email/{channelId}', 'POST', taken);
  expect((await request(stack.url, 'PATCH', `/api/channels/${channel.id}`, { token: key, json: { is_active: false } })).status).toBe(200);
  const setAside = await post('and this one?');
  expect(setAside.body).toEqual({ ok: true, ignored: 'channel_inactive' });
  expectDocumented('/webhooks/email/{channelId}', 'POST', setAside);
});

test('the rest of the inbox and the team: counts, a conversation changed, notes, users, a channel changed and its secrets replaced, Instagram\'s webhook', async () => {
  expectDocumented('/api/conversations/counts', 'GET', await request(stack.url, 'GET', '/api/conversations/counts', { token: apiKey }));
  const changed = await request(stack.url, 'PATCH', `/api/conversations/${conversationId}`, { token: apiKey, json: { status: 'pending' } });
  expect(changed.status).toBe(200);
  expectDocumented('/api/conversations/{id}', 'PATCH', changed);
  const note = { content: 'checked against the document', client_id: randomUUID() };
  const written = await request(stack.url, 'POST', `/api/conversations/${conversationId}/notes`, { token: apiKey, json: note });
  expect(written.status).toBe(201);
  expectDocumented('/api/conversations/{id}/notes', 'POST', written);
  const again = await request(stack.url, 'POST', `/api/conversations/${conversationId}/notes`, { token: apiKey, json: note });
  expect(again.status).toBe(200);
  expectDocumented('/api/conversations/{id}/notes', 'POST', again);

  const { admin } = await accountWithAdmin(stack, 'free');
  const agent = await invite(stack, admin, 'agent');
  expectDocumented('/api/users', 'GET', await admin.call('GET', '/api/users'));
  expectDocumented('/api/users/{id}', 'PATCH', await admin.call('PATCH', `/api/users/${agent.userId}`, { json: { name: 'Ana Renamed' } }));
  const webchat = (await admin.call('POST', '/api/channels', { json: { type: 'webchat', config: {} } })).body;
  expectDocumented('/api/channels/{id}', 'PATCH', await admin.call('PATCH', `/api/channels/${webchat.id}`, { json: { name: 'Renamed' } }));
  expectDocumented('/api/channels/{id}/rotate-secrets', 'POST', await admin.call('POST', `/api/channels/${webchat.id}/rotate-secrets`));

  const { id } = await metaChannel(stack, meta, 'instagram');
  const delivered = await meta.customerSendsInstagram(id, { from: digits(16), kind: 'text', text: 'does it match?' });
  expect(delivered.status).toBe(200);
  expectDocumented('/webhooks/instagram/{channelId}', 'POST', answered(delivered));
});

/** Documented JSON answers no test here can bring about on demand. */
const UNCHECKED = [
  // Temporal unreachable, or the api shutting down: the same Readiness schema as the 200.
  'GET /readyz 503',
];

test('every JSON answer the document describes was checked against a real one', () => {
  const documented = Object.entries<any>(doc.paths).flatMap(([path, ops]) =>
    Object.entries<any>(ops).flatMap(([method, op]) =>
      Object.entries<any>(op.responses)
        .filter(([status, r]) => status.startsWith('2') && r.content?.['application/json'])
        .map(([status]) => `${method.toUpperCase()} ${path} ${status}`),
    ),
  );
  expect(documented.filter((answer) => !checked.has(answer) && !UNCHECKED.includes(answer))).toEqual([]);
});

test('every 2xx answer with a body has a schema, not only words', () => {
  const prose = Object.entries<any>(doc.paths).flatMap(([path, ops]) =>
    Object.entries<any>(ops).flatMap(([method, op]) =>
      Object.entries<any>(op.responses)
        .filter(([status, r]) => status.startsWith('2') && status !== '204' && !r.content)
        .map(([status]) => `${method.toUpperCase()} ${path} ${status}`),
    ),
  );
  expect(prose).toEqual([]);
});

test('an answer that is not the documented shape fails the check (the check checks)', () => {
  const validate = ajv.getSchema(`openapi#/${pointer('paths', '/api/me', 'get', 'responses', '200', 'content', 'application/json', 'schema')}`)!;
  expect(validate({ auth: 'session' })).toBe(false);
  const channel = ajv.getSchema(`openapi#/${pointer('paths', '/api/channels/{id}', 'get', 'responses', '200', 'content', 'application/json', 'schema')}`)!;
  expect(channel({ id: randomUUID(), type: 'fax' })).toBe(false);
  // Through a $ref to a component: a conversation missing its fields.
  const list = ajv.getSchema(`openapi#/${pointer('paths', '/api/conversations', 'get', 'responses', '200', 'content', 'application/json', 'schema')}`)!;
  expect(list({ data: [], next_cursor: null })).toBe(true);
  expect(list({ data: [{ id: randomUUID() }], next_cursor: null })).toBe(false);
});
