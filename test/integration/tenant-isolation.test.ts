import { randomUUID } from 'node:crypto';
import { openApiDocument } from '../../src/api/openapi';
import { accountWithAdmin, type Session } from '../helpers/agents';
import { ADMIN_TOKEN, eventually, request, Stack, startStack } from '../helpers/stack';

/**
 * Every /api route, walked from the OpenAPI document (which a unit test holds to exactly the
 * routes the app serves, so a route added later is walked too), by another account: its API key
 * and its signed-in admin. Naming account A's channel, conversation, message, user or key must
 * answer exactly as naming nothing at all (the same status and error code: no existence oracle),
 * carry none of A's data, and change nothing of A's.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

const SITE = 'https://shop.example.com';
const MARKER = `secret-${randomUUID()}`;

/** A valid body for each route that takes one, so the request reaches the ownership check rather than stopping at validation. */
const BODIES: Record<string, { json?: unknown; body?: string; headers?: Record<string, string>; query?: string }> = {
  'PATCH /api/channels/{id}': { json: { name: 'taken over' } },
  'POST /api/channels/{id}/rotate-secrets': {},
  'PATCH /api/users/{id}': { json: { name: 'taken over' } },
  'POST /api/users/{id}/password-reset': { json: {} },
  'DELETE /api/api-keys/{id}': {},
  'PATCH /api/conversations/{id}': { json: { status: 'resolved' } },
  'POST /api/conversations/{id}/messages': { json: { content: 'from another account' } },
  'POST /api/conversations/{id}/notes': { json: { content: 'from another account' } },
  'POST /api/conversations/{id}/read': { json: {} },
  'POST /api/messages/{id}/retry': {},
  'POST /api/conversations/{id}/attachments': { body: 'bytes', headers: { 'content-type': 'text/plain' }, query: `?id=${randomUUID()}&name=a.txt` },
};
/** A stream, never ending: its isolation is tested in events.test.ts. */
const NOT_WALKED = new Set(['GET /api/events']);

async function accountA() {
  const a = await accountWithAdmin(stack, 'pro');
  const ch = await a.admin.call('POST', '/api/channels', { json: { type: 'webchat', name: `shop ${MARKER}`, config: { allowed_domains: ['shop.example.com'] } } });
  expect(ch.status).toBe(201);
  const visitor = await request(stack.url, 'POST', `/widget/${ch.body.id}/visitors`, { headers: { origin: SITE } });
  const said = await request(stack.url, 'POST', `/widget/${ch.body.id}/messages`, {
    headers: { origin: SITE, authorization: `Bearer ${visitor.body.token}` },
    json: { content: `hello ${MARKER}`, id: 'm1' },
  });
  expect(said.status).toBe(202);
  const conversation = await eventually(async () => (await a.admin.call('GET', '/api/conversations')).body.data[0], 30_000, "A's conversation");
  const message = (await a.admin.call('GET', `/api/conversations/${conversation.id}/messages`)).body.data[0];
  const keys = (await a.admin.call('GET', '/api/api-keys')).body.data;
  return { ...a, channel: ch.body, conversation, message, keyId: keys[0].id as string };
}

type A = Awaited<ReturnType<typeof accountA>>;

/** The path with A's ids, and with ids that name nothing. */
function paths(template: string, a: A): { theirs: string; nobody: string } {
  const fill = (ids: { channels: string; conversations: string; users: string; 'api-keys': string; messages: string; message: string }) =>
    template
      .replace(/\/(channels|conversations|users|api-keys|messages)\/\{id\}/, (_m, kind: keyof typeof ids) => `/${kind}/${ids[kind]}`)
      .replace('{messageId}', ids.message)
      .replace('{index}', '0');
  return {
    theirs: fill({ channels: a.channel.id, conversations: a.conversation.id, users: a.admin.userId, 'api-keys': a.keyId, messages: a.message.id, message: a.message.id }),
    nobody: fill({ channels: randomUUID(), conversations: randomUUID(), users: randomUUID(), 'api-keys': randomUUID(), messages: randomUUID(), message: randomUUID() }),
  };
}

test("another account's key and admin, on every /api route, learn nothing of an account and change nothing of it", async () => {
  const a = await accountA();
  const b = await accountWithAdmin(stack, 'pro');
  const asSession = (s: Session) => ({ cookie: s.cookie, 'x-csrf-token': s.csrf, origin: stack.url });
  const callers: Array<[string, (method: string, path: string, o: (typeof BODIES)[string]) => ReturnType<Session['call']>]> = [
    ['api key', (method, path, o) => request(stack.url, method, path, { token: b.apiKey, json: o.json, body: o.body, headers: o.headers })],
    ['admin session', (method, path, o) => request(stack.url, method, path, { json: o.json, body: o.body, headers: { ...asSession(b.admin), ...o.headers } })],
  ];
  const secrets = [MARKER, a.channel.id, a.conversation.id, a.message.id, a.admin.userId, a.admin.email, a.keyId];
  let walked = 0;
  for (const [path, ops] of Object.entries(openApiDocument().paths)) {
    if (!path.startsWith('/api/')) continue;
    for (const method of Object.keys(ops as object).map((m) => m.toUpperCase())) {
      const route = `${method} ${path}`;
      if (NOT_WALKED.has(route)) continue;
      const takesId = path.includes('{');
      if (takesId && method !== 'GET') expect([route, route in BODIES]).toEqual([route, true]); // a new route needs a sample body here
      const o = BODIES[route] ?? {};
      const { theirs, nobody } = paths(path, a);
      for (const [who, call] of callers) {
        const got = await call(method, theirs + (o.query ?? ''), o);
        for (const s of secrets) expect([who, route, got.text.includes(s) ? s : null]).toEqual([who, route, null]);
        if (takesId) {
          const none = await call(method, nobody + (o.query ?? ''), o);
          expect([who, route, got.status, (got.body as any)?.error?.code]).toEqual([who, route, none.status, (none.body as any)?.error?.code]);
          expect([who, route, got.status < 400]).toEqual([who, route, false]);
        }
        walked++;
      }
    }
  }
  expect(walked).toBeGreaterThan(30);

  // Nothing of A's changed.
  const after = await a.admin.call('GET', `/api/conversations/${a.conversation.id}`);
  expect(after.body).toMatchObject({ status: a.conversation.status, assignee: a.conversation.assignee });
  expect((await a.admin.call('GET', `/api/conversations/${a.conversation.id}/messages`)).body.data.map((m: any) => m.content)).toEqual([`hello ${MARKER}`]);
  expect((await a.admin.call('GET', `/api/channels/${a.channel.id}`)).body.name).toBe(`shop ${MARKER}`);
  expect((await a.admin.call('GET', '/api/me')).body.user.name).toBe('Ada Admin');
  expect((await request(stack.url, 'GET', '/api/account', { token: a.apiKey })).status).toBe(200);
});

test('the operator API: disabled without PINGBACK_ADMIN_TOKEN, 401 with a wrong token, open with the right one', async () => {
  const body = { name: 'operator test', plan: 'free' };
  expect((await request(stack.url, 'POST', '/admin/accounts', { json: body })).status).toBe(401);
  expect((await request(stack.url, 'POST', '/admin/accounts', { token: 'not-the-admin-token-at-all', json: body })).status).toBe(401);
  expect((await request(stack.url, 'POST', '/admin/accounts', { token: ADMIN_TOKEN, json: body })).status).toBe(201);
  // An account's own key is not the operator's.
  const a = await accountWithAdmin(stack);
  expect((await request(stack.url, 'GET', `/admin/accounts/${a.accountId}`, { token: a.apiKey })).status).toBe(401);

  const closed = await startStack({ PINGBACK_ADMIN_TOKEN: undefined }, { worker: false });
  try {
    const r = await request(closed.url, 'POST', '/admin/accounts', { token: ADMIN_TOKEN, json: body });
    expect([r.status, r.body.error.code]).toEqual([404, 'not_found']);
  } finally {
    await closed.stop();
  }
});
