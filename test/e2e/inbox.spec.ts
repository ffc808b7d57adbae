import { expect, test } from '@playwright/test';
import { Client } from 'pg';
import { api, conversationRow, metaSandbox, screenshotPath, whatsappChannel, customerWrites, newTeam, PASSWORD, signedInPage, signIn, telegramChannel, telegramFailsNext, telegramSent, url, webchatVisitorWrites } from './helpers';

/** The screen agents live in: a customer's message arrives live, they reply, note, assign, snooze, resolve. */

test('sign in: a wrong password says so without saying which field, then the inbox', async ({ page }) => {
  const team = await newTeam();
  await page.goto(url());
  await page.getByLabel('Email').fill(team.agent.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('The email or the password is wrong.');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Inbox' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to PingBack' })).toBeVisible();
});

test('a customer message arrives live at the top, with its channel icon; filters; a reply goes to sent; a refused one says why; a note stays inside', async ({ page }) => {
  const team = await newTeam();
  const bot = await telegramChannel(team);
  await signIn(page, team.agent);
  await customerWrites(bot.token, 31001, 'Dana', 'Where is my parcel?');
  const row = conversationRow(page, 'Dana');
  await expect(row).toBeVisible();
  await expect(row.getByRole('img', { name: 'Telegram' })).toBeVisible();
  await expect(row).toContainText('Where is my parcel?');
  await customerWrites(bot.token, 31002, 'Eli', 'Hello there');
  await expect(page.getByRole('list', { name: 'Conversations' }).getByRole('link').first()).toContainText('Eli');
  await webchatVisitorWrites(team, 'Wes', 'From the website');
  await expect(conversationRow(page, 'Wes').getByRole('img', { name: 'Web chat' })).toBeVisible();

  // Filter by channel type: the web chat leaves; the filter lives in the URL, so a reload keeps it.
  await page.getByRole('group', { name: 'Channel type' }).getByRole('button', { name: 'Telegram' }).click();
  await expect(page).toHaveURL(/type=telegram/);
  await expect(conversationRow(page, 'Wes')).toHaveCount(0);
  await expect(conversationRow(page, 'Dana')).toBeVisible();
  await page.reload();
  await expect(page.getByRole('group', { name: 'Channel type' }).getByRole('button', { name: 'Telegram' })).toHaveAttribute('aria-pressed', 'true');
  await expect(conversationRow(page, 'Dana')).toBeVisible();
  await expect(conversationRow(page, 'Wes')).toHaveCount(0);

  await conversationRow(page, 'Dana').click();
  const composer = page.getByRole('textbox', { name: 'Reply' });
  await composer.fill('It ships tomorrow.');
  await composer.press('Enter');
  const timeline = page.getByRole('list', { name: 'Timeline' });
  await expect(timeline.getByRole('listitem').filter({ hasText: 'It ships tomorrow.' })).toContainText('Sent');
  expect(await telegramSent(bot.token)).toEqual(['It ships tomorrow.']);

  await telegramFailsNext('blocked');
  await composer.fill('Are you still there?');
  await composer.press('Enter');
  const failed = timeline.getByRole('listitem').filter({ hasText: 'Are you still there?' });
  await expect(failed).toContainText(/Failed: .*blocked/i);
  // The customer unblocked the bot: Retry sends it again, and the platform gets it this time.
  await failed.getByRole('button', { name: 'Retry sending this reply' }).click();
  await expect(failed).toContainText('Sent');
  expect(await telegramSent(bot.token)).toEqual(['It ships tomorrow.', 'Are you still there?']);

  await page.getByRole('tab', { name: 'Private note' }).click();
  await page.getByRole('textbox', { name: 'Private note' }).fill('Customer is a VIP');
  await page.getByRole('button', { name: 'Add note' }).click();
  await expect(timeline.getByRole('listitem', { name: 'Private note' })).toContainText('Customer is a VIP');
  // A reply after the note: replies go out in order, so once it is sent the note would have been too.
  await page.getByRole('tab', { name: 'Reply' }).click();
  await composer.fill('One more thing');
  await composer.press('Enter');
  await expect(timeline.getByRole('listitem').filter({ hasText: 'One more thing' })).toContainText('Sent');
  expect(await telegramSent(bot.token)).toEqual(['It ships tomorrow.', 'Are you still there?', 'One more thing']);
});

test('assign to me and find it under Mine; snooze it, then resolve it', async ({ page }) => {
  const team = await newTeam();
  const bot = await telegramChannel(team);
  await customerWrites(bot.token, 32001, 'Fay', 'I need help with my order');
  await signIn(page, team.agent);
  await conversationRow(page, 'Fay').click();
  await page.getByRole('button', { name: 'Assign to me' }).click();
  await expect(page.getByLabel('Assignee')).toHaveValue(team.agent.id);
  await page.getByRole('tab', { name: /Mine/ }).click();
  await expect(page).toHaveURL(/tab=mine/);
  await expect(conversationRow(page, 'Fay')).toBeVisible();
  await expect(page.getByRole('tab', { name: /Mine/ })).toContainText('1');

  await page.getByRole('button', { name: 'Snooze' }).click();
  await page.getByRole('menuitem', { name: '1 hour' }).click();
  await expect(page.getByRole('region', { name: 'Conversation' }).locator('header')).toContainText('Snoozed until');
  await expect(conversationRow(page, 'Fay')).toHaveCount(0); // not open any more
  await page.getByLabel('Status').selectOption('snoozed');
  await expect(conversationRow(page, 'Fay')).toBeVisible();
  await page.getByRole('button', { name: 'Resolve' }).click();
  await expect(page.getByRole('list', { name: 'Timeline' })).toContainText('Ana Agent marked this resolved');
  await expect(conversationRow(page, 'Fay')).toHaveCount(0);
});

test('a deactivated channel disables the composer and says why', async ({ page }) => {
  const team = await newTeam();
  const bot = await telegramChannel(team, 'Old bot');
  await customerWrites(bot.token, 33001, 'Gil', 'Hi');
  await signIn(page, team.admin);
  await conversationRow(page, 'Gil').click();
  await expect(page.getByRole('textbox', { name: 'Reply' })).toBeEnabled();
  await page.goto(`${url()}/settings/channels`);
  await page.getByRole('row', { name: /Old bot/ }).getByRole('button', { name: 'Deactivate' }).click();
  await expect(page.getByRole('alertdialog')).toContainText('conversations are kept');
  await page.getByRole('alertdialog').getByRole('button', { name: 'Deactivate' }).click();
  await expect(page.getByRole('row', { name: /Old bot/ })).toContainText('Off');
  await page.goto(`${url()}/inbox`);
  await conversationRow(page, 'Gil').click();
  await expect(page.getByRole('textbox', { name: 'Reply' })).toBeDisabled();
  await expect(page.getByRole('note')).toContainText("channel is deactivated");
});

test('two agents see each other live', async ({ browser }) => {
  const team = await newTeam();
  const bot = await telegramChannel(team);
  await customerWrites(bot.token, 34001, 'Hana', 'Anyone?');
  const admin = await signedInPage(browser, team.admin);
  const agent = await signedInPage(browser, team.agent);
  await conversationRow(admin, 'Hana').click();
  await conversationRow(agent, 'Hana').click();
  const reply = agent.getByRole('textbox', { name: 'Reply' });
  await reply.fill('On it!');
  await reply.press('Enter');
  await expect(admin.getByRole('list', { name: 'Timeline' })).toContainText('On it!');
  await expect(admin.getByRole('list', { name: 'Timeline' }).getByRole('listitem').filter({ hasText: 'On it!' })).toContainText('Ana Agent');
  await admin.getByRole('button', { name: 'Assign to me' }).click();
  await expect(agent.getByLabel('Assignee')).toHaveValue(team.admin.id);
  await expect(agent.getByRole('list', { name: 'Timeline' })).toContainText('Ada Admin took this conversation');
  await admin.context().close();
  await agent.context().close();
});

test("customers' words, names, file names and channel names stay text", async ({ page }) => {
  const team = await newTeam();
  const bot = await telegramChannel(team, '<img src=x onerror=alert(4)>bot');
  let alerted = false;
  page.on('dialog', (d) => {
    alerted = true;
    void d.dismiss();
  });
  const payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>';
  await customerWrites(bot.token, 35001, '<b onmouseover=alert(3)>Mallory</b>', payload);
  await signIn(page, team.agent);
  const row = conversationRow(page, 'Mallory');
  await expect(row).toContainText('<b onmouseover=alert(3)>Mallory</b>');
  await row.click();
  await expect(page.getByRole('list', { name: 'Timeline' })).toContainText(payload);
  await expect(page.getByRole('region', { name: 'Conversation' }).locator('header')).toContainText('<img src=x onerror=alert(4)>bot');
  const fileName = '"><svg onload=alert(5)>.pdf';
  await webchatVisitorWrites(team, '<i>Eve</i>', 'a file', { file: { name: fileName, type: 'application/pdf', bytes: Buffer.from('%PDF-1.4') } });
  await conversationRow(page, '<i>Eve</i>').click();
  await expect(page.getByRole('link', { name: new RegExp(fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) })).toBeVisible();
  expect(await page.locator('img[src="x"], svg[onload], script:not([src])').count()).toBe(0);
  expect(alerted).toBe(false);
  const csp = (await page.request.get(url())).headers()['content-security-policy'];
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
});

test("a mail whose sender nothing verifies says so beside it; the channel's settings offer to refuse DMARC failures", async ({ page, browser }) => {
  const team = await newTeam('mini');
  const config = { address: 'support@acme.test', inbound: { method: 'webhook' }, smtp: { host: 'smtp.acme.test', port: 465, secure: true, user: 'support@acme.test', password: 'pw-123456' } };
  const ch = await api('POST', '/api/channels', { token: team.apiKey, json: { type: 'email', name: 'Support mail', config } });
  // Unsigned, from an address nothing vouches for (and no DNS here to ask): not verified.
  const raw = 'Return-Path: <ceo@bank.example>\r\nReceived: from x (x [198.51.100.66]) by mx; Sat, 05 Dec 2026 10:00:01 +0000\r\nFrom: CEO <ceo@bank.example>\r\nTo: support@acme.test\r\nSubject: Urgent\r\nMessage-ID: <e2e-unverified@bank.example>\r\n\r\nPlease wire the money today.\r\n';
  const res = await fetch(`${url()}${new URL(ch.callback_url).pathname}`, { method: 'POST', headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${ch.verify_token}` }, body: raw });
  expect(res.status).toBe(200);
  await signIn(page, team.agent);
  await conversationRow(page, 'CEO').click();
  await expect(page.getByRole('list', { name: 'Timeline' }).getByRole('listitem').filter({ hasText: 'Please wire the money today.' })).toContainText('Sender not verified');
  const admin = await signedInPage(browser, team.admin);
  await admin.goto(`${url()}/settings/channels/${ch.id}`);
  await admin.getByLabel('Refuse DMARC failures').check();
  await admin.getByRole('button', { name: 'Save' }).click();
  await expect(admin.getByText('Saved.')).toBeVisible();
  expect((await api('GET', `/api/channels/${ch.id}`, { token: team.apiKey })).config.refuse_dmarc_failures).toBe(true);
});

test("WhatsApp's 24-hour window: the composer counts it down, then offers the account's templates, filled in and previewed", async ({ page }) => {
  const team = await newTeam('mini');
  const wa = await whatsappChannel(team);
  await metaSandbox('whatsapp/templates', {
    waba_id: wa.wabaId,
    name: 'order_ready',
    language: 'en_US',
    components: [{ type: 'BODY', text: 'Hi {{1}}, your order {{2}} is ready.' }],
  });
  const from = String(351910000000 + Math.floor(Math.random() * 1e6));
  await metaSandbox('whatsapp/customer-message', { phone_number_id: wa.phoneNumberId, from, name: 'Rui', text: 'Is my order ready?' });
  await signIn(page, team.agent);
  await conversationRow(page, 'Rui').click();
  await expect(page.getByRole('note').filter({ hasText: /Free-form replies for (23 h 5\d|24 h 0) min more/ })).toBeVisible();

  // A day passes, for PingBack and for Meta.
  const db = new Client({ connectionString: JSON.parse(process.env.E2E_ENV!).DATABASE_URL });
  await db.connect();
  await db.query("UPDATE conversations SET last_inbound_at = last_inbound_at - interval '25 hours' WHERE channel_id = $1", [wa.id]);
  await db.end();
  await metaSandbox('advance-clock', { seconds: 25 * 3600 });
  await page.reload();
  await expect(page.getByRole('note').filter({ hasText: 'More than 24 hours have passed' })).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'Reply' })).toHaveCount(0);
  await expect(page.getByLabel('Template')).toHaveValue('0');
  const send = page.getByRole('button', { name: 'Send template' });
  await expect(send).toBeDisabled();
  await page.getByLabel('Body {{1}}').fill('Rui');
  await page.getByLabel('Body {{2}}').fill('#1042');
  await expect(page.getByLabel('What the customer will read')).toHaveText('Hi Rui, your order #1042 is ready.');
  await page.screenshot({ path: screenshotPath('whatsapp-template') });
  await send.click();
  const timeline = page.getByRole('list', { name: 'Timeline' });
  await expect(timeline.getByRole('listitem').filter({ hasText: 'Hi Rui, your order #1042 is ready.' })).toContainText('Sent');
  const sent = await (await fetch(`${process.env.E2E_META_URL}/_sandbox/sent?to=${from}`)).json();
  expect(sent.map((m: { template?: string; text: string }) => [m.template, m.text])).toEqual([['order_ready', 'Hi Rui, your order #1042 is ready.']]);
});

test('a channel whose token stopped working: the reply waits, the composer says why, and it goes out once an admin saves a new token', async ({ page, browser }) => {
  const team = await newTeam('mini');
  const bot = await telegramChannel(team, 'Support bot');
  await customerWrites(bot.token, 7100001, 'Lena', 'Do you ship to Porto?');
  await signIn(page, team.agent);
  await conversationRow(page, 'Lena').click();
  await telegramFailsNext('unauthorized');
  const composer = page.getByRole('textbox', { name: 'Reply' });
  await composer.fill('Yes, we do.');
  await composer.press('Enter');
  const timeline = page.getByRole('list', { name: 'Timeline' });
  const waiting = timeline.getByRole('listitem').filter({ hasText: 'Yes, we do.' });
  await expect(waiting).toContainText('Waiting for the channel to be reconnected');
  await expect(page.getByRole('note').filter({ hasText: 'This channel needs reconnecting: credentials rejected' })).toBeVisible();
  await page.screenshot({ path: screenshotPath('reconnect-required') });

  // The admin saves a new token (BotFather's /revoke gave one); the channel connects, the reply leaves.
  const admin = await signedInPage(browser, team.admin);
  await admin.goto(`${url()}/settings/channels/${bot.id}`);
  await expect(admin.getByRole('status').filter({ hasText: 'Reconnect required' })).toBeVisible();
  const fresh = `${bot.token.split(':')[0]}:AA${'n'.repeat(33)}`;
  await admin.getByRole('button', { name: 'Replace', exact: true }).click();
  await admin.getByLabel('Bot token').fill(fresh);
  await admin.getByRole('button', { name: 'Save' }).click();
  await expect(admin.getByRole('status').filter({ hasText: /Connected/ })).toBeVisible();
  await expect(waiting).toContainText('Sent', { timeout: 30_000 });
  await expect(page.getByRole('note').filter({ hasText: 'This channel needs reconnecting' })).toHaveCount(0);
  expect(await telegramSent(fresh)).toEqual(['Yes, we do.']);
});
