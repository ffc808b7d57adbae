import Ajv2020 from 'ajv/dist/2020';
import { randomUUID } from 'node:crypto';
import { openApiDocument } from '../../src/api/openapi';
import { TelegramFake } from '../../src/sandbox/telegram';
import { accountWithAdmin, invite, type Session } from '../helpers/agents';
import { connectTelegramChannel, eventually, type HttpResult, request, Stack, startStack } from '../helpers/stack';

/**
 * The response schemas /openapi.json documents are what the API answers: real answers, from a
 * real stack, validated against the published document (its $refs included) with a JSON Schema
 * validator, not against the zod schemas it was made from.
 */
let telegram: TelegramFake;
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

/** Checks an answer against the schema the document gives for this path, method and status. */
function expectDocumented(path: string, method: string, res: HttpResult) {
  const op = doc.paths[path]?.[method.toLowerCase()];
  expect(op?.responses?.[res.status]?.content?.['application/json']?.schema).toBeDefined();
  const validate = ajv.getSchema(`openapi#/${pointer('paths', path, method.toLowerCase(), 'responses', String(res.status), 'content', 'application/json', 'schema')}`)!;
  const valid = validate(res.body);
  expect({ path, method, status: res.status, errors: valid ? null : validate.errors }).toEqual({ path, method, status: res.status, errors: null });
}

beforeAll(async () => {
  telegram = await TelegramFake.start({ allowHttpWebhooks: true });
  stack = await startStack({ TELEGRAM_API_BASE_URL: telegram.baseUrl });
  const connected = await connectTelegramChannel(stack);
  ({ apiKey, channelId } = connected);
  await telegram.customerSends(connected.token, { chatId: 990700, firstName: 'Schema', text: 'does it match?' });
  conversationId = await eventually(async () => (await request(stack.url, 'GET', '/api/conversations', { token: apiKey })).body.data[0]?.id);
});
afterAll(async () => {
  await stack?.stop();
  await telegram?.stop();
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
