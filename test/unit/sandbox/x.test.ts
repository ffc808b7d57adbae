import { callXApi } from '../../../src/channels/x/api';
import { xConfigSchema } from '../../../src/channels/x/config';
import { oauth1Header } from '../../../src/channels/x/oauth1';
import { PlatformError } from '../../../src/channels/platform-error';
import { XFake } from '../../../src/sandbox/x';
import type { XAccount } from '../../../src/sandbox/x-world';
import { fixtureFiles } from '../../helpers/fixtures';

/** The X API fake holds PingBack to what X does: signatures, paging, limits, error bodies. */
let x: XFake;
beforeAll(async () => (x = await XFake.start()));
afterAll(async () => x?.stop());

const fixture = (name: string) => fixtureFiles('x', name)[0].body;
const oauth1 = (a: XAccount, over: Record<string, string> = {}) =>
  xConfigSchema.parse({ ...a.credentials, oauth2_user_token: undefined, ...over });
const call = (cfg: ReturnType<typeof oauth1>, req: Parameters<typeof callXApi>[2]) => callXApi<any>(x.baseUrl, cfg, req);
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: PlatformError) => e);

test('a correctly signed request is served; a wrong secret, a replayed nonce or no auth is 401 with X\'s body', async () => {
  const a = x.createAccount({ username: 'acme' });
  expect((await call(oauth1(a), { method: 'GET', path: '/2/users/me' })).body).toEqual({ data: { id: a.id, name: 'Support Account', username: 'acme' } });
  expect(await failure(call(oauth1(a, { api_secret: 'wrong' }), { method: 'GET', path: '/2/users/me' }))).toMatchObject({ kind: 'auth', message: 'Unauthorized' });

  const url = `${x.baseUrl}/2/users/me`;
  const c = a.credentials;
  const header = oauth1Header({ consumerKey: c.api_key, consumerSecret: c.api_secret, token: c.access_token, tokenSecret: c.access_token_secret }, { method: 'GET', url });
  expect((await fetch(url, { headers: { authorization: header } })).status).toBe(200);
  const replay = await fetch(url, { headers: { authorization: header } });
  expect([replay.status, await replay.json()]).toEqual([401, { title: 'Unauthorized', detail: 'Unauthorized', type: 'about:blank', status: 401 }]);
  expect((await fetch(url)).status).toBe(401);
});

test("GET /2/dm_events pages newest first with X's meta and includes", async () => {
  const a = x.createAccount();
  const from = { id: '1133857316862910464', name: 'Customer', username: 'customer_user' };
  for (const text of ['one', 'two', 'three']) await x.customerSends(a.id, { from, text });
  const query = { 'dm_event.fields': 'id,text,event_type,created_at,sender_id,dm_conversation_id', expansions: 'sender_id', max_results: '2' };
  const first = (await call(oauth1(a), { method: 'GET', path: '/2/dm_events', query })).body;
  expect(first.data.map((e: any) => e.text)).toEqual(['three', 'two']);
  expect(first.data[0]).toMatchObject({ event_type: 'MessageCreate', sender_id: from.id, dm_conversation_id: `${from.id}-${a.id}` });
  expect(first.includes.users).toEqual([from]);
  expect(first.meta).toEqual({ result_count: 2, next_token: expect.any(String) });
  const second = (await call(oauth1(a), { method: 'GET', path: '/2/dm_events', query: { ...query, pagination_token: first.meta.next_token } })).body;
  expect(second.data.map((e: any) => e.text)).toEqual(['one']);
  expect(second.meta).toEqual({ result_count: 1 });
  // Without dm_event.fields X sends id, event_type and text only.
  const bare = (await call(oauth1(a), { method: 'GET', path: '/2/dm_events' })).body;
  expect(Object.keys(bare.data[0]).sort()).toEqual(['event_type', 'id', 'text']);
});

test('the send endpoint answers like dm-send-v2-success.json; scripted failures like the error fixtures', async () => {
  const a = x.createAccount();
  const send = () => call(oauth1(a), { method: 'POST', path: '/2/dm_conversations/with/1133857316862910464/messages', json: { text: 'hi' } });
  const ok = (await send()).body;
  expect(Object.keys(ok.data).sort()).toEqual(Object.keys(fixture('dm-send-v2-success').body.data).sort());
  x.failNext('dm_send', { kind: 'dms_closed' });
  x.failNext('dm_send', { kind: 'forbidden' });
  expect((await failure(send())).message).toBe(fixture('dm-send-403-cannot-send-to-user').body.errors[0].message);
  expect((await failure(send())).message).toMatch(/^X refused this DM \(403 Forbidden\)/);
  expect(x.calls('dm_send', a.id).map((c) => c.status)).toEqual([201, 403, 403]);
});

test('a spent window is 429 with x-rate-limit-* headers until the reset', async () => {
  const a = x.createAccount();
  x.setRateLimit('users_me', 2, 2, a.id);
  const me = () => call(oauth1(a), { method: 'GET', path: '/2/users/me' });
  expect((await me()).rateLimit).toMatchObject({ limit: 2, remaining: 1 });
  expect((await me()).rateLimit).toMatchObject({ limit: 2, remaining: 0, resetAtMs: expect.any(Number) });
  const limited = await failure(me());
  expect(limited).toMatchObject({ kind: 'rate_limited', message: fixture('dm-send-v2-429').body.title });
  expect(limited.details.retryAfterMs).toBeGreaterThan(0);
  const reset = x.calls('users_me', a.id)[2].resetAtMs!;
  await new Promise((r) => setTimeout(r, reset - Date.now() + 50));
  expect((await me()).rateLimit).toMatchObject({ remaining: 1 });
});
