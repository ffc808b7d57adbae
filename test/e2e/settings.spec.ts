import { expect, test } from '@playwright/test';
import { ChildProcess } from 'node:child_process';
import { freePort, stopChild } from '../../src/dev/dev-server';
import { pingback, waitForHealthy } from './global-setup';
import { api, conversationRow, customerWrites, newTeam, screenshotPath, signIn, telegramChannel, url } from './helpers';

/** What an owner finishes alone: connecting a channel, the widget, the team, API keys. And the screenshots the README shows. */


test('connect a Telegram channel through the form: a wrong token is refused next to its field, the right one connects live', async ({ page }) => {
  const team = await newTeam('mini');
  await signIn(page, team.admin);
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('link', { name: 'Connect a channel' }).click();
  // Mini allows every type; the plan's usage is always in view.
  await expect(page.getByText(/0 of 3\s+active channels/)).toBeVisible();
  await page.getByRole('button', { name: /Telegram/ }).click();
  await page.getByLabel('Name').fill('Support bot');
  await page.getByLabel('Bot token').fill('not-a-token');
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByLabel('Bot token')).toHaveAttribute('aria-invalid', 'true');
  const token = `${Math.floor(1e9 + Math.random() * 8e9)}:AA${'x'.repeat(33)}`;
  await page.getByLabel('Bot token').fill(token);
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByRole('heading', { name: 'Support bot' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: /Pending|Connected/ })).toHaveText('Connected');
  await expect(page.getByText('webhook registered')).toBeVisible();
  // The stored token comes back masked, with a way to replace it.
  await expect(page.getByLabel('Bot token')).toHaveValue(/^\*+x{4}$/);
  await expect(page.getByRole('button', { name: 'Replace', exact: true })).toBeVisible();
  await page.screenshot({ path: screenshotPath('channel-settings') });
  // Asked now, Telegram says the webhook is this channel's and nothing failed.
  await page.getByRole('button', { name: 'Ask Telegram now' }).click();
  await expect(page.getByRole('status').filter({ hasText: /^All well \(@/ })).toBeVisible();
});

test('replace a channel’s secrets: a confirmation that says what changes at the platform, then the new verify token to paste', async ({ page }) => {
  const team = await newTeam('mini');
  const config = { access_token: `EAAG${'w'.repeat(24)}`, phone_number_id: '106540352242922', app_secret: 'f00dfeedcafe0123456789abcdef0123' };
  const ch = await api('POST', '/api/channels', { token: team.apiKey, json: { type: 'whatsapp', name: 'Sales line', config } });
  await signIn(page, team.admin);
  await page.goto(`${url()}/settings/channels/${ch.id}`);
  const verify = page.getByRole('textbox', { name: 'Verify token' });
  await expect(verify).toHaveValue(ch.verify_token);
  await page.getByRole('button', { name: 'Replace secrets…' }).click();
  const dialog = page.getByRole('alertdialog', { name: 'Replace the secrets of Sales line?' });
  await expect(dialog).toContainText('Paste the new verify token into the webhook settings of your Meta app');
  await dialog.getByRole('button', { name: 'Replace secrets' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Replaced.' })).toBeVisible();
  await expect(verify).not.toHaveValue(ch.verify_token);
  const shown = await verify.inputValue();
  expect((await api('GET', `/api/channels/${ch.id}`, { token: team.apiKey })).verify_token).toBe(shown);
});

test("a plan's locked channel types say why and which plan allows them", async ({ page }) => {
  const team = await newTeam('free');
  await signIn(page, team.admin);
  await page.goto(`${url()}/settings/channels/new`);
  const whatsapp = page.getByRole('button', { name: /WhatsApp/ });
  await expect(whatsapp).toBeDisabled();
  await expect(whatsapp).toContainText('the free plan does not include WhatsApp; the mini plan does');
  await expect(page.getByRole('button', { name: /Web chat/ })).toBeEnabled();
});

test('the widget: settings with a live preview of the real widget, and the embed snippet', async ({ page }) => {
  const team = await newTeam('free');
  await signIn(page, team.admin);
  await page.goto(`${url()}/settings/channels/new?type=webchat`);
  await page.getByLabel('Name').fill('Site chat');
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByRole('link', { name: 'Set up the widget for this channel' })).toBeVisible();
  await page.getByRole('link', { name: 'Set up the widget for this channel' }).click();
  await page.getByLabel('Welcome message').fill('Hi! How can we help?');
  await page.getByLabel(/^Brand color/).fill('#0f766e');
  const preview = page.frameLocator('iframe[title="Widget preview"]');
  await expect(preview.getByText('Hi! How can we help?')).toBeVisible();
  await expect(page.getByLabel('Embed snippet', { exact: true })).toHaveValue(new RegExp(`<script src="${url()}/widget.js" data-channel="[0-9a-f-]{36}" async></script>`));
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  await page.screenshot({ path: screenshotPath('widget-settings') });
  // Saved: the widget's own settings route now says so.
  const channelId = /data-channel="([0-9a-f-]{36})"/.exec(await page.getByLabel('Embed snippet', { exact: true }).inputValue())![1];
  const settings = await (await fetch(`${url()}/widget/${channelId}`)).json();
  expect(settings).toMatchObject({ welcome_message: 'Hi! How can we help?', brand_color: '#0f766e' });
});

test('users: invite with a link to pass on, who then sets a password and signs in; disable them', async ({ page, browser }) => {
  const team = await newTeam();
  await signIn(page, team.admin);
  await page.goto(`${url()}/settings/users`);
  const email = `new-${Date.now()}@example.test`;
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Name').fill('Nia New');
  await page.getByRole('button', { name: 'Invite' }).click();
  const link = await page.getByLabel(`Invitation link for ${email}`, { exact: true }).inputValue();
  expect(link).toMatch(new RegExp(`^${url()}/set-password\\?token=`));

  const invited = await (await browser.newContext()).newPage();
  await invited.goto(link);
  await invited.getByLabel('New password').fill('a fine long password');
  await invited.getByLabel('The same again').fill('a fine long password');
  await invited.getByRole('button', { name: 'Set password' }).click();
  await invited.getByRole('button', { name: 'Sign in' }).click();
  await invited.getByLabel('Email').fill(email);
  await invited.getByLabel('Password').fill('a fine long password');
  await invited.getByRole('button', { name: 'Sign in' }).click();
  await expect(invited.getByRole('heading', { name: 'Inbox' })).toBeVisible();
  // An agent has no settings.
  await expect(invited.getByRole('link', { name: 'Settings' })).toHaveCount(0);

  await page.reload();
  await page.getByRole('row', { name: /Nia New/ }).getByRole('button', { name: 'Disable' }).click();
  await expect(page.getByRole('row', { name: /Nia New/ })).toContainText('disabled');
  // Their open page is signed out at its next request.
  await invited.reload();
  await expect(invited.getByRole('heading', { name: 'Sign in to PingBack' })).toBeVisible();
  await invited.context().close();
});

test('API keys: shown once, then only their prefix; revocable', async ({ page }) => {
  const team = await newTeam();
  await signIn(page, team.admin);
  await page.goto(`${url()}/settings/api-keys`);
  await page.getByLabel('Name').fill('CRM sync');
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = await page.getByLabel('New API key', { exact: true }).inputValue();
  expect(key).toMatch(/^pb_/);
  expect((await fetch(`${url()}/api/me`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
  const row = page.getByRole('row', { name: /CRM sync/ });
  await expect(row).toContainText(key.slice(0, 10));
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toContainText('revoked');
  expect((await fetch(`${url()}/api/me`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
});

test('the api stops and starts again: the page says it is reconnecting, then catches up with what arrived meanwhile', async ({ page }) => {
  const team = await newTeam();
  const bot = await telegramChannel(team);
  await customerWrites(bot.token, 36001, 'Ida', 'First message');
  // The browser's own api process; webhooks keep going to the suite's.
  const env = { ...JSON.parse(process.env.E2E_ENV!), PORT: String(await freePort()) };
  const own = `http://127.0.0.1:${env.PORT}`;
  env.PUBLIC_BASE_URL = url();
  let api: ChildProcess = pingback('api', env);
  try {
    await waitForHealthy(own);
    await signIn(page, team.agent, own);
    await expect(conversationRow(page, 'Ida')).toBeVisible();
    await stopChild(api);
    await expect(page.getByRole('status').filter({ hasText: 'Reconnecting' }).first()).toBeVisible();
    await customerWrites(bot.token, 36002, 'Jon', 'Written while you were away');
    await customerWrites(bot.token, 36001, 'Ida', 'Second message');
    api = pingback('api', env);
    await waitForHealthy(own);
    await expect(conversationRow(page, 'Jon')).toBeVisible({ timeout: 30_000 });
    await expect(conversationRow(page, 'Ida')).toContainText('Second message');
    await expect(page.getByRole('status').filter({ hasText: 'Reconnecting' })).toHaveCount(0);
  } finally {
    await stopChild(api);
  }
});

test('screenshots: the inbox and a conversation, as an agent sees them', async ({ page }) => {
  const team = await newTeam('pro', { admin: 'Ada Admin', agent: 'Sam Rivera' });
  const bot = await telegramChannel(team, 'Acme support');
  await customerWrites(bot.token, 37001, 'Dana Scully', 'Hi! My order #4411 still says "processing". Can you check?');
  await customerWrites(bot.token, 37002, 'Grace Hopper', 'Can I change the delivery address for order #4470?');
  await customerWrites(bot.token, 37003, 'Linus', 'Thanks, that fixed it!');
  await signIn(page, team.agent);
  await conversationRow(page, 'Dana Scully').click();
  await page.getByRole('button', { name: 'Assign to me' }).click();
  const reply = page.getByRole('textbox', { name: 'Reply' });
  await reply.fill('Hi Dana, it left our warehouse this morning. You will get the tracking link within the hour.');
  await reply.press('Enter');
  await page.getByRole('tab', { name: 'Private note' }).click();
  await page.getByRole('textbox', { name: 'Private note' }).fill('Courier confirmed pickup at 09:40.');
  await page.getByRole('button', { name: 'Add note' }).click();
  await customerWrites(bot.token, 37001, 'Dana Scully', 'Great, thank you!');
  await expect(page.getByRole('list', { name: 'Timeline' })).toContainText('Great, thank you!');
  await expect(page.getByRole('list', { name: 'Timeline' }).getByRole('listitem').filter({ hasText: 'warehouse' })).toContainText('Sent');
  // Settled: the read marker moved and the badges were counted again.
  await expect(page.getByRole('tab', { name: /Mine/ })).toContainText('1');
  await expect(conversationRow(page, 'Dana Scully')).not.toContainText('unread');
  await page.screenshot({ path: screenshotPath('conversation') });
  await page.goto(`${url()}/inbox`);
  await expect(conversationRow(page, 'Linus')).toBeVisible();
  await page.screenshot({ path: screenshotPath('inbox') });
  await page.setViewportSize({ width: 390, height: 780 });
  await page.screenshot({ path: screenshotPath('inbox-phone') });
});
