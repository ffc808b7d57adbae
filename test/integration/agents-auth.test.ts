import { randomInt } from 'node:crypto';
import { startApi } from '../../src/processes';
import { secretBoxFrom } from '../../src/config';
import { silentLogger } from '../../src/log';
import { accountWithAdmin, invite, linkToken, Session, setPassword, signIn, TEST_PASSWORD, uniqueEmail } from '../helpers/agents';
import { ADMIN_TOKEN, eventually, HttpResult, request, Stack, startStack } from '../helpers/stack';

/** People: first admin, invitations, sign-in and its limits, sessions, CSRF, and who may do what. */
let stack: Stack;

beforeAll(async () => {
  // Each test below signs in from an address of its own (X-Forwarded-For through one trusted proxy).
  stack = await startStack({ TRUSTED_PROXY_HOPS: '1', LOGIN_ATTEMPTS_PER_EMAIL: '3', LOGIN_ATTEMPTS_PER_ADDRESS: '5' });
});
afterAll(async () => {
  await stack?.stop();
});

/** An address of its own for each attempt that needs one: the limits' counts outlive a test run. */
const anAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}`;
const login = (email: string, password: string, address = anAddress(), url = stack.url) =>
  request(url, 'POST', '/auth/login', { json: { email, password }, headers: { 'x-forwarded-for': address, origin: url } });

test('the first admin sets a password from the link the operator got, once; a short password is refused without spending it', async () => {
  const email = uniqueEmail('owner');
  const created = await request(stack.url, 'POST', '/admin/accounts', { token: ADMIN_TOKEN, json: { name: 'Shop', plan: 'mini', admin_email: email.toUpperCase() } });
  expect(created.status).toBe(201);
  expect(created.body.admin_set_password_url).toMatch(new RegExp(`^${stack.url}/set-password\\?token=`));
  const token = linkToken(created.body.admin_set_password_url);

  const short = await request(stack.url, 'POST', '/auth/set-password', { json: { token, password: 'short' } });
  expect(short.status).toBe(422);
  expect(short.body.error.details.fields[0].path).toBe('password');
  await setPassword(stack, created.body.admin_set_password_url);
  const again = await request(stack.url, 'POST', '/auth/set-password', { json: { token, password: 'another long password' } });
  expect(again.status).toBe(400);
  expect(again.body.error.code).toBe('invalid_token');
  const unknown = await request(stack.url, 'POST', '/auth/set-password', { json: { token: 'not-a-token-anyone-gave', password: TEST_PASSWORD } });
  expect(unknown.body.error.code).toBe('invalid_token');

  // The email is matched whatever its case; /api/me says who, which account and plan.
  const admin = await signIn(stack, email);
  const me = await admin.call('GET', '/api/me');
  expect(me.body).toMatchObject({ auth: 'session', role: 'admin', user: { email }, account: { id: created.body.account_id, plan: 'mini' } });
  expect(me.body.csrf_token).toEqual(expect.any(String));
  // The same email cannot belong to a second user.
  const taken = await request(stack.url, 'POST', '/admin/accounts', { token: ADMIN_TOKEN, json: { name: 'Other', admin_email: email } });
  expect(taken.status).toBe(409);
  expect(taken.body.error.code).toBe('email_taken');
});

test('an invitation is single use and expires; an admin can issue a new link', async () => {
  const { admin } = await accountWithAdmin(stack);
  const email = uniqueEmail('agent');
  const inv = await admin.call('POST', '/api/users/invitations', { json: { email, name: 'Ana', role: 'agent' } });
  expect(inv.status).toBe(201);
  expect(inv.body).toMatchObject({ user: { email, role: 'agent', status: 'invited' } });
  expect(Date.parse(inv.body.expires_at) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
  await setPassword(stack, inv.body.invitation_url);
  const twice = await request(stack.url, 'POST', '/auth/set-password', { json: { token: linkToken(inv.body.invitation_url), password: TEST_PASSWORD } });
  expect(twice.body.error.code).toBe('invalid_token');

  const reset = await admin.call('POST', `/api/users/${inv.body.user.id}/password-reset`);
  expect(reset.status).toBe(201);
  await stack.db('user_tokens').where({ user_id: inv.body.user.id }).whereNull('used_at').update({ expires_at: new Date(Date.now() - 1000) });
  const expired = await request(stack.url, 'POST', '/auth/set-password', { json: { token: linkToken(reset.body.reset_url), password: 'a brand new password' } });
  expect(expired.body.error.code).toBe('invalid_token');
  const fresh = await admin.call('POST', `/api/users/${inv.body.user.id}/password-reset`);
  await setPassword(stack, fresh.body.reset_url, 'a brand new password');
  await expect(signIn(stack, email, 'a brand new password')).resolves.toBeDefined();
});

test('a wrong email and a wrong password get the same answer', async () => {
  const { admin } = await accountWithAdmin(stack);
  const wrongPassword = await login(admin.email, 'not the password');
  const unknownEmail = await login(uniqueEmail('nobody'), 'not the password');
  expect(wrongPassword.status).toBe(401);
  expect(unknownEmail.status).toBe(401);
  expect(unknownEmail.body).toEqual(wrongPassword.body);
  expect(unknownEmail.body.error.code).toBe('invalid_credentials');
});

test('failed sign-ins are limited per email and per address, across api processes; the 429 says when to retry', async () => {
  const { admin } = await accountWithAdmin(stack);
  const other = await startApi({ ...stack.config, PORT: 0 }, silentLogger, { db: stack.db, temporal: stack.temporal, secrets: secretBoxFrom(stack.config) });
  try {
    // Three failures for one email, from three addresses and two api processes.
    expect((await login(admin.email, 'wrong 1')).status).toBe(401);
    expect((await login(admin.email, 'wrong 2', anAddress(), other.url)).status).toBe(401);
    expect((await login(admin.email, 'wrong 3')).status).toBe(401);
    const limited = await login(admin.email, TEST_PASSWORD, anAddress(), other.url);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('too_many_attempts');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(60);

    // Attempts in parallel are counted before their passwords are checked: no more than the allowance get through.
    const { admin: raced } = await accountWithAdmin(stack);
    const parallel = await Promise.all(Array.from({ length: 12 }, (_, i) => login(raced.email, `wrong ${i}`)));
    expect(parallel.filter((r) => r.status === 401)).toHaveLength(3);
    expect(parallel.filter((r) => r.status === 429)).toHaveLength(9);

    // One address trying many emails runs out too, and a right password does not get through it.
    const { admin: second } = await accountWithAdmin(stack);
    const guesser = anAddress();
    for (let i = 0; i < 5; i++) expect((await login(uniqueEmail('guess'), 'x', guesser)).status).toBe(401);
    expect((await login(second.email, TEST_PASSWORD, guesser, other.url)).status).toBe(429);
    expect((await login(second.email, TEST_PASSWORD)).status).toBe(204);
  } finally {
    await other.stop();
  }
});

test('sign-out ends the session; sign-out everywhere ends them all', async () => {
  const { admin } = await accountWithAdmin(stack);
  const second = await signIn(stack, admin.email);
  expect((await admin.call('GET', '/api/me')).status).toBe(200);
  const out = await request(stack.url, 'POST', '/auth/logout', { headers: { cookie: admin.cookie, origin: stack.url } });
  expect(out.status).toBe(204);
  expect(out.headers.get('set-cookie')).toMatch(/pingback_session=;/);
  expect((await admin.call('GET', '/api/me')).status).toBe(401);
  expect((await second.call('GET', '/api/me')).status).toBe(200);

  const third = await signIn(stack, admin.email);
  expect((await third.call('POST', '/auth/logout-all')).status).toBe(204);
  expect((await second.call('GET', '/api/me')).status).toBe(401);
  expect((await third.call('GET', '/api/me')).status).toBe(401);
});

test("a disabled user's session ends at once, and they cannot sign in; the last admin cannot be demoted", async () => {
  const { admin } = await accountWithAdmin(stack);
  const agent = await invite(stack, admin);
  expect((await agent.call('GET', '/api/conversations')).status).toBe(200);
  const off = await admin.call('PATCH', `/api/users/${agent.userId}`, { json: { disabled: true } });
  expect(off.status).toBe(200);
  expect(off.body.status).toBe('disabled');
  expect((await agent.call('GET', '/api/conversations')).status).toBe(401);
  expect((await login(agent.email, TEST_PASSWORD)).status).toBe(401);
  await admin.call('PATCH', `/api/users/${agent.userId}`, { json: { disabled: false } });
  await expect(signIn(stack, agent.email)).resolves.toBeDefined();

  const demote = await admin.call('PATCH', `/api/users/${admin.userId}`, { json: { role: 'agent' } });
  expect(demote.status).toBe(409);
  expect(demote.body.error.code).toBe('last_admin');
});

test('changes made with a session need the CSRF token and an allowed Origin; API keys need neither', async () => {
  const { admin, apiKey } = await accountWithAdmin(stack);
  const body = { json: { name: 'Renamed Admin' } };
  const path = `/api/users/${admin.userId}`;
  const noToken = await request(stack.url, 'PATCH', path, { ...body, headers: { cookie: admin.cookie, origin: stack.url } });
  const wrongToken = await request(stack.url, 'PATCH', path, { ...body, headers: { cookie: admin.cookie, origin: stack.url, 'x-csrf-token': 'guess' } });
  const foreign = await admin.call('PATCH', path, { ...body, headers: { origin: 'https://evil.example' } });
  const noOrigin = await request(stack.url, 'PATCH', path, { ...body, headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf } });
  expect([noToken, wrongToken, foreign, noOrigin].map((r) => [r.status, r.body.error?.code])).toEqual(Array(4).fill([403, 'csrf_failed']));
  expect((await stack.db('users').where({ id: admin.userId }).first('name')).name).toBe('Ada Admin');
  // Reading needs no token; the right token from the right page changes it.
  expect((await request(stack.url, 'GET', '/api/users', { headers: { cookie: admin.cookie } })).status).toBe(200);
  expect((await admin.call('PATCH', path, body)).status).toBe(200);
  expect((await request(stack.url, 'PATCH', path, { token: apiKey, json: { name: 'By Key' } })).status).toBe(200);
  // A sign-in posted by another site's page is refused too.
  const crossSite = await request(stack.url, 'POST', '/auth/login', { json: { email: admin.email, password: TEST_PASSWORD }, headers: { origin: 'https://evil.example' } });
  expect(crossSite.status).toBe(403);
});

describe('who may do what', () => {
  type Who = 'admin' | 'agent' | 'api_key' | 'disabled' | 'outsider' | 'nobody';
  let headers: Record<Who, Record<string, string>>;
  let ids: { channel: string; conversation: string; user: string; message: string };
  const as = (who: Who, method: string, path: string, json?: unknown) => request(stack.url, method, path, { json, headers: headers[who] });

  beforeAll(async () => {
    const { admin, apiKey } = await accountWithAdmin(stack, 'pro');
    const agent = await invite(stack, admin, 'agent');
    const disabled = await invite(stack, admin, 'agent', 'Gone');
    await admin.call('PATCH', `/api/users/${disabled.userId}`, { json: { disabled: true } });
    const { admin: outsider } = await accountWithAdmin(stack, 'pro');
    const browser = (s: Session) => ({ cookie: s.cookie, 'x-csrf-token': s.csrf, origin: stack.url });
    headers = {
      admin: browser(admin),
      agent: browser(agent),
      disabled: browser(disabled),
      outsider: browser(outsider),
      api_key: { authorization: `Bearer ${apiKey}` },
      nobody: { origin: stack.url },
    };
    // A real conversation: a web chat visitor writes, the worker stores it.
    const ch = await as('admin', 'POST', '/api/channels', { type: 'webchat', config: { allowed_domains: [] } });
    const vt = (await request(stack.url, 'POST', `/widget/${ch.body.id}/visitors`)).body.token;
    await request(stack.url, 'POST', `/widget/${ch.body.id}/messages`, { token: vt, json: { id: 'walk-1', content: 'hello' } });
    const conversation = await eventually(async () => (await as('api_key', 'GET', '/api/conversations')).body.data[0]);
    const message = (await as('api_key', 'GET', `/api/conversations/${conversation.id}/messages`)).body.data[0];
    ids = { channel: ch.body.id, conversation: conversation.id, user: agent.userId, message: message.id };
  });

  // [method, path, body, who may, the success status]
  const routes: Array<[string, string, unknown, 'everyone' | 'admin' | 'users', number]> = [
    ['GET', '/api/me', undefined, 'everyone', 200],
    ['GET', '/api/account', undefined, 'admin', 200],
    ['GET', '/api/api-keys', undefined, 'admin', 200],
    ['POST', '/api/api-keys', { name: 'walk' }, 'admin', 201],
    ['GET', '/api/channels', undefined, 'everyone', 200],
    ['GET', '/api/channels/:channel', undefined, 'everyone', 200],
    ['POST', '/api/channels', { type: 'webchat', config: {} }, 'admin', 201],
    ['PATCH', '/api/channels/:channel', { name: 'Chat' }, 'admin', 200],
    ['GET', '/api/channel-types', undefined, 'everyone', 200],
    ['GET', '/api/users', undefined, 'everyone', 200],
    ['POST', '/api/users/invitations', { email: 'x', name: 'X' }, 'admin', 422],
    ['PATCH', '/api/users/:user', { name: 'Ana A.' }, 'admin', 200],
    ['POST', '/api/users/:user/password-reset', undefined, 'admin', 201],
    ['GET', '/api/conversations', undefined, 'everyone', 200],
    ['GET', '/api/conversations/counts', undefined, 'everyone', 200],
    ['GET', '/api/conversations/:conversation', undefined, 'everyone', 200],
    ['PATCH', '/api/conversations/:conversation', { assignee_id: null }, 'everyone', 200],
    ['GET', '/api/conversations/:conversation/messages', undefined, 'everyone', 200],
    ['POST', '/api/conversations/:conversation/notes', { content: 'walked' }, 'everyone', 201],
    ['POST', '/api/conversations/:conversation/read', { message_id: ':message' }, 'users', 200],
    ['GET', '/api/events', undefined, 'everyone', 200],
  ];
  const fill = (text: string) => text.replace(/:(channel|conversation|user|message)\b/g, (_, k: keyof typeof ids) => ids[k]);

  /** The status only: an event stream's body never ends by itself. */
  const statusOf = async (who: Who, method: string, path: string, json?: unknown) => {
    if (path !== '/api/events') return (await as(who, method, path, json)).status;
    const ac = new AbortController();
    const res = await fetch(stack.url + path, { headers: headers[who], signal: ac.signal });
    ac.abort();
    return res.status;
  };

  test.each(routes)('%s %s', async (method, template, body, who, success) => {
    const path = fill(template);
    const json = body === undefined ? undefined : JSON.parse(fill(JSON.stringify(body)));
    const expected: Record<Who, number> = {
      admin: success,
      agent: who === 'admin' ? 403 : success,
      api_key: who === 'users' ? 400 : success,
      disabled: 401,
      // Another account's ids are not found; its own lists are its own.
      outsider: /:(channel|conversation|user)/.test(template) ? 404 : success,
      nobody: 401,
    };
    const got: Record<string, number> = {};
    for (const w of Object.keys(expected) as Who[]) got[w] = await statusOf(w, method, path, json);
    expect(got).toEqual(expected);
  });
});
