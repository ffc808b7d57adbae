import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { TelegramFake } from '../../src/sandbox/telegram';
import { ADMIN_TOKEN, connectTelegramChannel, eventually, request, Stack, startStack } from '../helpers/stack';

/**
 * Customers' words never sit in Temporal in the clear: the server's own history of a
 * conversation holds only encrypted payloads, while PingBack (and an operator through the
 * codec endpoint) reads them back.
 */
const UI = 'http://temporal-ui.example.test:8233';
let telegram: TelegramFake;
let stack: Stack;
let raw: Client;

beforeAll(async () => {
  telegram = await TelegramFake.start({ allowHttpWebhooks: true });
  stack = await startStack({ TELEGRAM_API_BASE_URL: telegram.baseUrl, TEMPORAL_UI_URL: UI });
  // What anyone with access to the Temporal server sees: no codec.
  raw = new Client({ connection: await Connection.connect({ address: stack.config.TEMPORAL_ADDRESS }), namespace: stack.config.TEMPORAL_NAMESPACE });
});
afterAll(async () => {
  await raw?.connection.close();
  await stack?.stop();
  await telegram?.stop();
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

test("a conversation's history on the server holds no message text; PingBack and the operator's codec endpoint read it back", async () => {
  const { apiKey, token } = await connectTelegramChannel(stack);
  const secret = `my card ends 4242 ${randomUUID()}`;
  expect((await telegram.customerSends(token, { chatId: 930001, firstName: 'Vera', text: secret })).status).toBe(200);
  const conv = await eventually(async () => (await request(stack.url, 'GET', '/api/conversations', { token: apiKey })).body.data?.[0]);
  const reply = `we will call you about ${randomUUID()}`;
  expect((await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: reply } })).status).toBe(202);
  await eventually(async () => telegram.sentMessages(token).some((m) => m.text === reply), 30_000, 'the reply sent');

  // A reply the platform refuses: the failure's words (which can quote a customer) are encrypted too.
  telegram.failNext('sendMessage', { kind: 'blocked' });
  const refused = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'are you there?' } });
  await eventually(async () => (await stack.db('messages').where({ id: refused.body.id }).first('status'))?.status === 'failed', 30_000, 'the refused reply failed');

  const history = await raw.workflow.getHandle(conv.workflow_id).fetchHistory();
  const failures = history.events!.flatMap((e) => (e.activityTaskFailedEventAttributes?.failure ? [e.activityTaskFailedEventAttributes.failure] : []));
  expect(failures.length).toBeGreaterThan(0);
  for (const f of failures) expect([f.message, Boolean(f.encodedAttributes)]).toEqual(['Encoded failure', true]);
  const dump = JSON.stringify(history, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));
  for (const words of [secret, reply, 'bot was blocked by the user']) {
    expect(dump).not.toContain(words);
    expect(dump).not.toContain(b64(words).slice(0, 24));
  }
  const signaled = history.events!.find((e) => e.workflowExecutionSignaledEventAttributes)!.workflowExecutionSignaledEventAttributes!;
  const payload = signaled.input!.payloads![0];
  expect(Buffer.from(payload.metadata!.encoding!).toString()).toBe('binary/encrypted');

  // PingBack reads its own history: the state query answers through the codec.
  expect(await stack.temporal.workflow.getHandle(conv.workflow_id).query('state')).toMatchObject({ totals: { received: 1 } });

  // The operator's codec endpoint (Temporal UI, CLI): the admin token only, CORS for the configured UI.
  const wire = { payloads: [{ metadata: Object.fromEntries(Object.entries(payload.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(payload.data!).toString('base64') }] };
  const decode = (headers: Record<string, string>) => fetch(`${stack.url}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json', origin: UI, ...headers }, body: JSON.stringify(wire) });
  const ok = await decode({ authorization: `Bearer ${ADMIN_TOKEN}` });
  expect(ok.status).toBe(200);
  expect(ok.headers.get('access-control-allow-origin')).toBe(UI);
  const [plain] = ((await ok.json()) as any).payloads;
  expect(Buffer.from(plain.metadata.encoding, 'base64').toString()).toBe('json/plain');
  expect(Buffer.from(plain.data, 'base64').toString()).toContain(secret);
  expect((await decode({})).status).toBe(401);
  expect((await decode({ authorization: `Bearer ${apiKey}` })).status).toBe(401);
  const bad = await fetch(`${stack.url}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ payloads: [{ data: 'not base64!' }] }) });
  expect([bad.status, ((await bad.json()) as any).error.code]).toEqual([422, 'validation_failed']);

  // Encode → decode round trip, as the UI does for a signal it sends.
  const sent = { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('"hello"') }] };
  const enc = (await (await fetch(`${stack.url}/codec/encode`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify(sent) })).json()) as any;
  expect(Buffer.from(enc.payloads[0].metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
  const dec = (await (await fetch(`${stack.url}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify(enc) })).json()) as any;
  expect(dec).toEqual(sent);

  // The browser's preflight: allowed for the UI's origin, not for another.
  const pre = (origin: string) => fetch(`${stack.url}/codec/decode`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-namespace' } });
  const fromUi = await pre(UI);
  expect([fromUi.status, fromUi.headers.get('access-control-allow-origin'), fromUi.headers.get('access-control-allow-headers')]).toEqual([204, UI, 'authorization, content-type, x-namespace']);
  expect((await pre('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
});
