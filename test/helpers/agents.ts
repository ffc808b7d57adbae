import { randomUUID } from 'node:crypto';
import { ADMIN_TOKEN, HttpResult, request, Stack } from './stack';

export const TEST_PASSWORD = 'correct horse battery';

/** A signed-in user as a browser is one: the session cookie, the CSRF token, the api's own Origin. */
export interface Session {
  userId: string;
  email: string;
  cookie: string;
  csrf: string;
  call<T = any>(method: string, path: string, opts?: { json?: unknown; headers?: Record<string, string> }): Promise<HttpResult<T>>;
}

export const uniqueEmail = (who = 'user') => `${who}-${randomUUID().slice(0, 8)}@example.test`;

/** The token of a set-password link, as the user's browser reads it from the URL. */
export const linkToken = (url: string) => new URL(url).searchParams.get('token')!;

export async function signIn(stack: Stack, email: string, password = TEST_PASSWORD): Promise<Session> {
  const res = await fetch(`${stack.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: stack.url },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 204) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const me = await request(stack.url, 'GET', '/api/me', { headers: { cookie } });
  return sessionFor(stack, { userId: me.body.user.id, email, cookie, csrf: me.body.csrf_token });
}

export function sessionFor(stack: Stack, s: { userId: string; email: string; cookie: string; csrf: string }): Session {
  return {
    ...s,
    call: (method, path, opts = {}) =>
      request(stack.url, method, path, { json: opts.json, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, origin: stack.url, ...(opts.headers ?? {}) } }),
  };
}

/** An account made the way an operator makes one: with its first admin, who then sets a password and signs in. */
export async function accountWithAdmin(stack: Stack, plan: 'free' | 'mini' | 'pro' = 'pro'): Promise<{ accountId: string; apiKey: string; admin: Session }> {
  const email = uniqueEmail('admin');
  const res = await request(stack.url, 'POST', '/admin/accounts', { token: ADMIN_TOKEN, json: { name: `test ${randomUUID()}`, plan, admin_email: email, admin_name: 'Ada Admin' } });
  if (res.status !== 201) throw new Error(`account create failed: ${res.status} ${res.text}`);
  await setPassword(stack, res.body.admin_set_password_url);
  return { accountId: res.body.account_id, apiKey: res.body.api_key, admin: await signIn(stack, email) };
}

export async function setPassword(stack: Stack, url: string, password = TEST_PASSWORD): Promise<HttpResult> {
  const res = await request(stack.url, 'POST', '/auth/set-password', { json: { token: linkToken(url), password } });
  if (res.status !== 204) throw new Error(`set-password failed: ${res.status} ${res.text}`);
  return res;
}

/** An admin invites an agent (or admin), who follows the link and signs in. */
export async function invite(stack: Stack, admin: Session, role: 'admin' | 'agent' = 'agent', name = 'Ana Agent'): Promise<Session> {
  const email = uniqueEmail(role);
  const res = await admin.call('POST', '/api/users/invitations', { json: { email, name, role } });
  if (res.status !== 201) throw new Error(`invite failed: ${res.status} ${res.text}`);
  await setPassword(stack, res.body.invitation_url);
  return signIn(stack, email);
}
