import { randomInt, randomUUID } from 'node:crypto';
import { expect, type Browser, type Page } from '@playwright/test';

export const url = () => process.env.E2E_URL!;
const telegramUrl = () => process.env.E2E_TELEGRAM_URL!;
export const PASSWORD = 'correct horse battery';

export async function api(method: string, path: string, opts: { token?: string; json?: unknown; cookie?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json', origin: url() };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  const res = await fetch(url() + path, { method, headers, body: opts.json === undefined ? undefined : JSON.stringify(opts.json) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const setPassword = (link: string) => api('POST', '/auth/set-password', { json: { token: new URL(link).searchParams.get('token'), password: PASSWORD } });

export interface Team {
  accountId: string;
  apiKey: string;
  admin: { email: string; name: string; id: string };
  agent: { email: string; name: string; id: string };
}

/** An account as an operator makes one (its first admin), and an agent the admin invited: both with passwords set. */
export async function newTeam(plan: 'free' | 'mini' | 'pro' = 'pro', names = { admin: 'Ada Admin', agent: 'Ana Agent' }): Promise<Team> {
  const tag = randomUUID().slice(0, 8);
  const admin = { email: `admin-${tag}@example.test`, name: names.admin };
  const created = await api('POST', '/admin/accounts', { token: process.env.E2E_ADMIN_TOKEN, json: { name: `Shop ${tag}`, plan, admin_email: admin.email, admin_name: admin.name } });
  await setPassword(created.admin_set_password_url);
  const agentEmail = `agent-${tag}@example.test`;
  const invited = await api('POST', '/api/users/invitations', { token: created.api_key, json: { email: agentEmail, name: names.agent, role: 'agent' } });
  await setPassword(invited.invitation_url);
  return {
    accountId: created.account_id,
    apiKey: created.api_key,
    admin: { ...admin, id: created.admin_user_id },
    agent: { email: agentEmail, name: names.agent, id: invited.user.id },
  };
}

/** A Telegram channel of the team's, connected (PingBack called getMe and setWebhook on the sandbox). */
export async function telegramChannel(team: Team, name = 'Support bot'): Promise<{ id: string; token: string }> {
  const token = `${randomInt(1e9, 9e9)}:AA${randomUUID().replace(/-/g, '').slice(0, 33)}`;
  const ch = await api('POST', '/api/channels', { token: team.apiKey, json: { type: 'telegram', name, config: { bot_token: token } } });
  await expect.poll(async () => (await api('GET', `/api/channels/${ch.id}`, { token: team.apiKey })).status, { timeout: 30_000 }).toBe('connected');
  return { id: ch.id, token };
}

/** The customer writes to the bot (the sandbox posts the update to PingBack's webhook). */
export async function customerWrites(token: string, chatId: number, firstName: string, text: string): Promise<void> {
  const res = await fetch(`${telegramUrl()}/_sandbox/customer-message`, { method: 'POST', body: JSON.stringify({ token, chat_id: chatId, first_name: firstName, text }) });
  if (!res.ok) throw new Error(`the sandbox refused: ${await res.text()}`);
}

export async function telegramSent(token: string): Promise<string[]> {
  const sent = (await (await fetch(`${telegramUrl()}/_sandbox/sent?token=${encodeURIComponent(token)}`)).json()) as Array<{ text?: string }>;
  return sent.map((m) => m.text ?? '');
}

export async function telegramFailsNext(kind: 'blocked' | 'chat_not_found' | 'server_error' | 'unauthorized'): Promise<void> {
  await fetch(`${telegramUrl()}/_sandbox/fail-next`, { method: 'POST', body: JSON.stringify({ method: 'sendMessage', kind }) });
}

export async function signIn(page: Page, who: { email: string }, base = url()): Promise<void> {
  await page.goto(`${base}/login`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Inbox' })).toBeVisible();
}

/** A signed-in browser of its own (a second agent, another tab's session). */
export async function signedInPage(browser: Browser, who: { email: string }, base = url()): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, who, base);
  return page;
}

export const conversationRow = (page: Page, name: string) => page.getByRole('list', { name: 'Conversations' }).getByRole('link', { name: new RegExp(name) });

/** A web chat channel of the team's (any site may embed it), and a visitor who writes, with files if given. */
export async function webchatVisitorWrites(team: Team, visitorName: string, text: string, opts: { channelName?: string; file?: { name: string; type: string; bytes: Buffer } } = {}) {
  const ch = await api('POST', '/api/channels', { token: team.apiKey, json: { type: 'webchat', name: opts.channelName ?? 'Site chat', config: {} } });
  const visitor = await api('POST', `/widget/${ch.id}/visitors`);
  const headers = { authorization: `Bearer ${visitor.token}`, origin: 'https://shop.example' };
  const attachments: string[] = [];
  if (opts.file) {
    const res = await fetch(`${url()}/widget/${ch.id}/attachments?name=${encodeURIComponent(opts.file.name)}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': opts.file.type },
      body: new Uint8Array(opts.file.bytes),
    });
    if (!res.ok) throw new Error(`upload refused: ${res.status} ${await res.text()}`);
    attachments.push((await res.json()).id);
  }
  const res = await fetch(`${url()}/widget/${ch.id}/messages`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ id: `m-${randomUUID()}`, content: text, name: visitorName, attachments }),
  });
  if (res.status !== 202) throw new Error(`message refused: ${res.status} ${await res.text()}`);
  return { channelId: ch.id as string };
}

/** Where the end-to-end run writes its screenshots: the README's with UPDATE_SCREENSHOTS=1, else the run's results. */
export const screenshotPath = (name: string) => (process.env.UPDATE_SCREENSHOTS ? `docs/screenshots/${name}.png` : `test-results/screenshots/${name}.png`);

/** The Meta Graph fake's control endpoints (src/sandbox/meta-control.ts), as curl would call them. */
export async function metaSandbox(path: string, json: unknown): Promise<any> {
  const res = await fetch(`${process.env.E2E_META_URL}/_sandbox/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });
  if (!res.ok) throw new Error(`meta sandbox ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** A WhatsApp channel of the team's on the Meta fake, its callback subscribed, with its business account (for templates). */
export async function whatsappChannel(team: Team, name = 'Sales line'): Promise<{ id: string; phoneNumberId: string; wabaId: string }> {
  const phoneNumberId = `10${randomInt(1e12, 9e12)}`;
  const accessToken = `EAAG${randomUUID().replace(/-/g, '')}`;
  const appSecret = randomUUID().replace(/-/g, '');
  const { wabaId } = await metaSandbox('whatsapp/numbers', { phone_number_id: phoneNumberId, access_token: accessToken, app_secret: appSecret });
  const ch = await api('POST', '/api/channels', { token: team.apiKey, json: { type: 'whatsapp', name, config: { access_token: accessToken, phone_number_id: phoneNumberId, app_secret: appSecret, business_account_id: wabaId } } });
  await metaSandbox('subscribe', { id: phoneNumberId, callback_url: ch.callback_url, verify_token: ch.verify_token });
  return { id: ch.id, phoneNumberId, wabaId };
}
