import { TelegramFake } from '../../src/sandbox/telegram';
import { connectTelegramChannel, eventually, request, Stack, startStack } from '../helpers/stack';

/** Paging the inbox and a conversation as a dashboard does. */
let telegram: TelegramFake;
let stack: Stack;
let apiKey: string;
let token: string;

beforeAll(async () => {
  telegram = await TelegramFake.start({ allowHttpWebhooks: true });
  stack = await startStack({ TELEGRAM_API_BASE_URL: telegram.baseUrl });
  ({ apiKey, token } = await connectTelegramChannel(stack));
  for (let i = 0; i < 5; i++) await telegram.customerSends(token, { chatId: 990100 + i, firstName: `P${i}`, text: `hello ${i}` });
  // Conversations are persisted concurrently (each by its own workflow, on any of the worker's SDK
  // workers), so "written to last" is only known once the first five are all stored.
  await eventually(async () => {
    const r = await request(stack.url, 'GET', '/api/conversations?limit=50', { token: apiKey });
    return r.body.data.length === 5 ? true : undefined;
  });
  for (let i = 0; i < 4; i++) await telegram.customerSends(token, { chatId: 990100, firstName: 'P0', text: `more ${i}` });
  await eventually(async () => {
    const conv = (await request(stack.url, 'GET', '/api/conversations?limit=50', { token: apiKey })).body.data.find((c: any) => c.contact.platform_user_id === '990100');
    const msgs = (await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages?limit=50`, { token: apiKey })).body.data;
    return msgs.length === 5 ? true : undefined;
  });
});
afterAll(async () => {
  await stack?.stop();
  await telegram?.stop();
});

async function all(path: string, limit: number) {
  const seen: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const r: { status: number; body: any } = await request(stack.url, 'GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { token: apiKey });
    expect(r.status).toBe(200);
    seen.push(...r.body.data);
    cursor = r.body.next_cursor;
    pages++;
  } while (cursor);
  return { seen, pages };
}

test('the inbox pages newest first, every conversation once', async () => {
  const whole = (await request(stack.url, 'GET', '/api/conversations?limit=50', { token: apiKey })).body.data;
  const { seen, pages } = await all('/api/conversations', 2);
  expect(pages).toBe(3);
  expect(seen.map((c) => c.id)).toEqual(whole.map((c: any) => c.id));
  // The conversation written to last is on top.
  expect(seen[0].contact.platform_user_id).toBe('990100');
});

test('messages page oldest first, in the order they arrived', async () => {
  const conv = (await request(stack.url, 'GET', '/api/conversations', { token: apiKey })).body.data[0];
  const { seen, pages } = await all(`/api/conversations/${conv.id}/messages`, 2);
  expect(pages).toBe(3);
  expect(seen.map((m) => m.content)).toEqual(['hello 0', 'more 0', 'more 1', 'more 2', 'more 3']);
});

test('a cursor not given out by the API is a 400, never a 500', async () => {
  const conv = (await request(stack.url, 'GET', '/api/conversations', { token: apiKey })).body.data[0];
  const forged = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  for (const [path, cursor] of [
    ['/api/conversations', forged(['x', 'y'])],
    ['/api/conversations', forged(['2026-01-01T00:00:00Z'])],
    ['/api/conversations', 'not-base64-json'],
    [`/api/conversations/${conv.id}/messages`, forged(['x'])],
    [`/api/conversations/${conv.id}/messages`, forged([1, 2])],
  ]) {
    const r = await request(stack.url, 'GET', `${path}?cursor=${cursor}`, { token: apiKey });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_cursor');
  }
  const bad = await request(stack.url, 'GET', '/api/conversations?limit=0&channel_type=fax', { token: apiKey });
  expect(bad.status).toBe(422);
  expect(bad.body.error.details.fields.map((f: any) => f.path).sort()).toEqual(['channel_type', 'limit']);
});
