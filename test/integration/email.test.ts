import { randomBytes } from 'node:crypto';
import { composeMail, deliveryStatusNotification, MAIL_TLS_CA_FILE, MailProvider } from '../helpers/mail-provider';
import { agentUpload, createAccount, eventually, request, Stack, stackWithFake } from '../helpers/stack';

/**
 * Email both ways from outside, on the real stack: a mail provider on loopback (real SMTP and
 * IMAP servers), mail posted to the channel's callback URL as providers' inbound routes do,
 * the agent's reply leaving by SMTP threaded under the customer's mail.
 */
let stack: Stack;
let provider: MailProvider;
stackWithFake(() => MailProvider.start(), () => ({ EMAIL_TLS_CA_FILE: MAIL_TLS_CA_FILE }), (s, p) => {
  stack = s;
  provider = p;
});

const api = (key: string) => ({
  get: (path: string) => request(stack.url, 'GET', path, { token: key }),
  post: (path: string, json: unknown) => request(stack.url, 'POST', path, { token: key, json }),
  patch: (path: string, json: unknown) => request(stack.url, 'PATCH', path, { token: key, json }),
});

async function emailChannel() {
  const { apiKey } = await createAccount(stack, 'mini');
  const created = await api(apiKey).post('/api/channels', { type: 'email', name: 'Support mail', config: provider.channelConfig('webhook') });
  if (created.status !== 201) throw new Error(`channel create failed: ${created.status} ${created.text}`);
  const channel = await eventually(async () => {
    const r = await api(apiKey).get(`/api/channels/${created.body.id}`);
    return r.body.status === 'connected' ? r.body : undefined;
  }, 30_000, 'channel connected');
  return { apiKey, channel };
}

const basic = (password: string) => `Basic ${Buffer.from(`provider:${password}`).toString('base64')}`;
function postMail(channel: { callback_url: string; verify_token: string }, raw: Buffer | string, headers: Record<string, string> = {}) {
  const url = new URL(channel.callback_url);
  return request(url.origin, 'POST', url.pathname, {
    body: raw.toString(),
    headers: { 'content-type': 'message/rfc822', authorization: basic(channel.verify_token), ...headers },
  });
}

async function conversationOf(apiKey: string, address: string, count = 1): Promise<any[]> {
  return eventually(async () => {
    const r = await api(apiKey).get('/api/conversations?channel_type=email');
    const mine = r.body.data.filter((c: any) => c.contact.platform_user_id === address);
    return mine.length >= count ? mine : undefined;
  }, 30_000, `${count} conversation(s) with ${address}`);
}

async function messagesOf(apiKey: string, conversationId: string, count: number): Promise<any[]> {
  return eventually(async () => {
    const r = await api(apiKey).get(`/api/conversations/${conversationId}/messages`);
    return r.body.data.length >= count ? r.body.data : undefined;
  }, 30_000, `${count} messages`);
}

/** The conversation's message at `index` (oldest first) once it has `status`: a reply sent, failed … */
async function messageWithStatus(apiKey: string, conversationId: string, index: number, status: string, timeoutMs = 30_000): Promise<any> {
  return eventually(async () => {
    const msgs = await messagesOf(apiKey, conversationId, index + 1);
    return msgs[index].status === status ? msgs[index] : undefined;
  }, timeoutMs, `message ${index} ${status}`);
}

let seq = 0;
const mid = () => `c${Date.now()}.${++seq}@customer.example`;

test('connecting checks the SMTP login; the settings show the callback URL and the password the provider must use', async () => {
  const { channel } = await emailChannel();
  expect(channel.status_message).toBe('connected as support@acme.test; messages arrive by webhook at callback_url');
  expect(channel.callback_url).toBe(`${stack.url}/webhooks/email/${channel.id}`);
  expect(channel.config.smtp.password).not.toBe(provider.password);
  expect(JSON.stringify(channel) + stack.log.lines.join('\n')).not.toContain(provider.password);
  expect(provider.smtpLogins.filter((l) => l.ok).length).toBeGreaterThan(0);
});

test('a customer mail lands in the inbox; the agent reply reaches the customer threaded, and their answer joins the same conversation', async () => {
  const { apiKey, channel } = await emailChannel();
  const first = mid();
  const res = await postMail(channel, await composeMail({ from: 'Ann Lee <ann@customer.example>', to: 'support@acme.test', subject: 'Order 1234', text: 'Where is my order?', messageId: first }));
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ ok: true });

  const [conv] = await conversationOf(apiKey, 'ann@customer.example');
  expect(conv).toMatchObject({ channel_type: 'email', contact: { name: 'Ann Lee' } });
  const [inbound] = await messagesOf(apiKey, conv.id, 1);
  expect(inbound).toMatchObject({ direction: 'inbound', content: 'Where is my order?', metadata: { subject: 'Order 1234' } });

  const reply = await api(apiKey).post(`/api/conversations/${conv.id}/messages`, { content: 'It ships tomorrow.' });
  expect(reply.status).toBe(202);
  const sent = await eventually(async () => provider.submitted.find((m) => m.parsed.inReplyTo === `<${first}>`), 30_000, 'the reply at the SMTP server');
  expect(sent.to).toEqual(['ann@customer.example']);
  expect(sent.parsed.subject).toBe('Re: Order 1234');
  expect(sent.parsed.text?.trim()).toBe('It ships tomorrow.');
  const stored = await messageWithStatus(apiKey, conv.id, 1, 'sent');
  expect(`<${stored.platform_message_id}>`).toBe(sent.parsed.messageId);

  // Ann's client keeps only In-Reply-To: PingBack's Message-ID still names the conversation.
  const answer = await postMail(channel, await composeMail({ from: 'ann@customer.example', to: 'support@acme.test', subject: 'Re: Order 1234', text: 'Thanks!', messageId: mid(), inReplyTo: stored.platform_message_id }));
  expect(answer.status).toBe(200);
  const msgs = await messagesOf(apiKey, conv.id, 3);
  expect(msgs.map((m: any) => [m.direction, m.content])).toEqual([
    ['inbound', 'Where is my order?'],
    ['outbound', 'It ships tomorrow.'],
    ['inbound', 'Thanks!'],
  ]);
  expect(await conversationOf(apiKey, 'ann@customer.example')).toHaveLength(1);
});

test('providers that post a form: the raw mail as SendGrid\'s "email" field or Mailgun\'s "body-mime"', async () => {
  const { apiKey, channel } = await emailChannel();
  const url = new URL(channel.callback_url);
  const post = (form: FormData) => fetch(`${url.origin}${url.pathname}`, { method: 'POST', body: form, headers: { authorization: basic(channel.verify_token) } });

  const sendgrid = new FormData();
  sendgrid.set('envelope', JSON.stringify({ to: ['support@acme.test'], from: 'max@customer.example' }));
  sendgrid.set('charsets', JSON.stringify({ to: 'UTF-8', subject: 'UTF-8', from: 'UTF-8' }));
  sendgrid.set('spam_score', '0.1');
  sendgrid.set('email', (await composeMail({ from: 'max@customer.example', to: 'support@acme.test', subject: 'Über SendGrid', text: 'über sendgrid ✓', messageId: mid() })).toString());
  const r1 = await post(sendgrid);
  expect([r1.status, await r1.json()]).toEqual([200, { ok: true }]);

  const mailgun = new FormData();
  mailgun.set('recipient', 'support@acme.test');
  mailgun.set('body-mime', (await composeMail({ from: 'max@customer.example', to: 'support@acme.test', subject: 'Via Mailgun', text: 'via mailgun', messageId: mid() })).toString());
  const r2 = await post(mailgun);
  expect(r2.status).toBe(200);

  const convs = await conversationOf(apiKey, 'max@customer.example', 2);
  const texts = (await Promise.all(convs.map((c: any) => messagesOf(apiKey, c.id, 1)))).flat().map((m: any) => m.content);
  expect(texts.sort()).toEqual(['via mailgun', 'über sendgrid ✓']);

  const empty = new FormData();
  empty.set('subject', 'no mail here');
  const r3 = await post(empty);
  expect([r3.status, (await r3.json()).error.code]).toEqual([400, 'invalid_email']);
});

test('a mail with absurd headers (a 6 KB Message-ID, a 2 KB sender name) still reaches the inbox, so does the next one, and machine mail like it is set aside', async () => {
  const { apiKey, channel } = await emailChannel();
  // Random, so PostgreSQL cannot compress it into an index row: it used to wedge the conversation for good.
  const longId = `${randomBytes(4500).toString('base64url')}@customer.example`;
  const first = await postMail(channel, await composeMail({ from: `${'N'.repeat(2000)} <dee@customer.example>`, to: 'support@acme.test', subject: 'Long', text: 'long headers', messageId: longId }));
  expect([first.status, JSON.parse(first.text)]).toEqual([200, { ok: true }]);
  expect((await postMail(channel, await composeMail({ from: 'dee@customer.example', to: 'support@acme.test', subject: 'Short', text: 'after', messageId: mid() }))).status).toBe(200);
  const conversations = await conversationOf(apiKey, 'dee@customer.example', 2);
  const texts = (await Promise.all(conversations.map((c) => messagesOf(apiKey, c.id, 1)))).flat().map((m) => m.content).sort();
  expect(texts).toEqual(['after', 'long headers']);
  const long = (await Promise.all(conversations.map((c) => messagesOf(apiKey, c.id, 1)))).flat().find((m) => m.content === 'long headers');
  expect(long.platform_message_id).toMatch(/^sha256:[0-9a-f]{64}$/);

  const auto = await postMail(channel, await composeMail({ from: 'dee@customer.example', to: 'support@acme.test', text: 'away', messageId: `auto.${longId}`, headers: { 'Auto-Submitted': 'auto-replied' } }));
  expect([auto.status, JSON.parse(auto.text)]).toEqual([200, { ok: true, ignored: 'auto_submitted' }]);
  const aside = await stack.db('ignored_events').where({ channel_id: channel.id, reason: 'auto_submitted' }).select('platform_event_id');
  expect(aside).toEqual([{ platform_event_id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }]);
});

test("a channel pointed at PingBack's own network (a cloud metadata address) is refused before any connection, and says so in the tenant's words", async () => {
  const { apiKey } = await createAccount(stack, 'mini');
  const config = provider.channelConfig('webhook') as any;
  const created = await api(apiKey).post('/api/channels', { type: 'email', name: 'Probe', config: { ...config, smtp: { ...config.smtp, host: '169.254.169.254', port: 80 } } });
  expect(created.status).toBe(201);
  const channel = await eventually(async () => {
    const r = await api(apiKey).get(`/api/channels/${created.body.id}`);
    return r.body.status === 'error' ? r.body : undefined;
  }, 30_000, 'channel in error');
  expect(channel.status_message).toMatch(/SMTP server 169\.254\.169\.254 is not at a public address; PingBack connects only to public mail servers/);
  expect(channel.status_message).not.toMatch(/ECONN|:80\b/);
});

test('moving a channel to another mail server, port or login needs the password again: a stored one is never sent elsewhere', async () => {
  const { apiKey, channel } = await emailChannel();
  const patch = (config: unknown) => api(apiKey).patch(`/api/channels/${channel.id}`, { config });
  for (const smtp of [{ host: 'smtp.elsewhere.example' }, { port: 2525 }, { user: 'someone-else' }, { host: 'smtp.elsewhere.example', password: channel.config.smtp.password }]) {
    const r = await patch({ smtp });
    expect([r.status, r.body.error.code, r.body.error.details.fields.map((f: any) => f.path)]).toEqual([422, 'validation_failed', ['smtp.password']]);
  }
  // Nothing was changed by the refusals.
  expect((await api(apiKey).get(`/api/channels/${channel.id}`)).body.config.smtp).toEqual(channel.config.smtp);
  // Other settings keep the stored password; a new server with its password is taken.
  expect((await patch({ from_name: 'Acme Support' })).status).toBe(200);
  const moved = await patch({ smtp: { host: '127.0.0.1', password: 'a-new-password' } });
  expect([moved.status, moved.body.config.smtp.host]).toEqual([200, '127.0.0.1']);
});

test('a new mail from the same customer is a new conversation; a provider retry is stored once', async () => {
  const { apiKey, channel } = await emailChannel();
  const a = await composeMail({ from: 'bo@customer.example', to: 'support@acme.test', subject: 'Refund', text: 'Refund please', messageId: mid() });
  expect((await postMail(channel, a)).status).toBe(200);
  expect((await postMail(channel, a)).status).toBe(200);
  const b = await composeMail({ from: 'bo@customer.example', to: 'support@acme.test', subject: 'Another thing', text: 'Also…', messageId: mid() });
  expect((await postMail(channel, b)).status).toBe(200);
  const convs = await conversationOf(apiKey, 'bo@customer.example', 2);
  expect(convs).toHaveLength(2);
  const counts = await Promise.all(convs.map(async (c: any) => (await messagesOf(apiKey, c.id, 1)).length));
  expect(counts).toEqual([1, 1]);
});

test('the callback URL refuses wrong credentials, other bodies and non-mail; machine mail is acknowledged and set aside', async () => {
  const { apiKey, channel } = await emailChannel();
  const mail = await composeMail({ from: 'cy@customer.example', to: 'support@acme.test', text: 'hi', messageId: mid() });
  const noAuth = await postMail(channel, mail, { authorization: '' });
  expect(noAuth.status).toBe(401);
  expect(noAuth.headers.get('www-authenticate')).toMatch(/^Basic /);
  expect(noAuth.body.error.code).toBe('invalid_credentials');
  expect((await postMail(channel, mail, { authorization: basic('wrong') })).status).toBe(401);
  expect((await postMail(channel, mail, { authorization: `Bearer ${channel.verify_token}` })).status).toBe(200);
  const json = await postMail(channel, '{"from":"x"}', { 'content-type': 'application/json' });
  expect([json.status, json.body.error.code]).toEqual([415, 'unsupported_media_type']);
  const junk = await postMail(channel, '\u0000\u0001 not a mail');
  expect([junk.status, junk.body.error.code]).toEqual([400, 'invalid_email']);
  const unknown = await request(stack.url, 'POST', '/webhooks/email/00000000-0000-4000-8000-000000000000', { body: mail.toString(), headers: { 'content-type': 'message/rfc822', authorization: basic(channel.verify_token) } });
  expect(unknown.status).toBe(404);

  const vacation = await composeMail({ from: 'dee@customer.example', to: 'support@acme.test', subject: 'Out of office', text: 'Back Monday', messageId: mid(), headers: { 'Auto-Submitted': 'auto-replied' } });
  const res = await postMail(channel, vacation);
  expect([res.status, res.body]).toEqual([200, { ok: true, ignored: 'auto_submitted' }]);
  const ignored = await stack.db('ignored_events').where({ channel_id: channel.id, reason: 'auto_submitted' });
  expect(ignored).toHaveLength(1);
  expect(ignored[0].payload).toMatchObject({ from: 'dee@customer.example', subject: 'Out of office' });
  await conversationOf(apiKey, 'cy@customer.example');
  const r = await api(apiKey).get('/api/conversations?channel_type=email');
  expect(r.body.data.map((c: any) => c.contact.platform_user_id)).toEqual(['cy@customer.example']);
});

test("a bounce of the agent's reply marks it failed with the receiving server's reason", async () => {
  const { apiKey, channel } = await emailChannel();
  await postMail(channel, await composeMail({ from: 'lou@customer.example', to: 'support@acme.test', subject: 'Hi', text: 'Hi', messageId: mid() }));
  const [conv] = await conversationOf(apiKey, 'lou@customer.example');
  await messagesOf(apiKey, conv.id, 1);
  await api(apiKey).post(`/api/conversations/${conv.id}/messages`, { content: 'Hello Lou' });
  const sent = await messageWithStatus(apiKey, conv.id, 1, 'sent');
  const res = await postMail(channel, deliveryStatusNotification({ to: 'support@acme.test', recipient: 'lou@customer.example', original: sent.platform_message_id }));
  expect([res.status, res.body]).toEqual([200, { ok: true }]);
  const failed = await messageWithStatus(apiKey, conv.id, 1, 'failed');
  expect(failed.error).toBe('the mail bounced (lou@customer.example): 550 5.1.1 <lou@customer.example>: Recipient address rejected: User unknown in virtual mailbox table');
  // The bounce is not a customer message.
  expect(await messagesOf(apiKey, conv.id, 2)).toHaveLength(2);
});

test('attachments of mail that came by webhook are kept by PingBack and open byte for byte, once however often the mail is posted', async () => {
  const { apiKey, channel } = await emailChannel();
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(5000)]);
  const mail = await composeMail({
    from: 'kim@customer.example',
    to: 'support@acme.test',
    text: 'see files',
    messageId: mid(),
    attachments: [{ filename: 'a.txt', content: 'x' }, { filename: 'invoice.pdf', content: pdf, contentType: 'application/pdf' }],
  });
  // The provider posts it twice (a retry after a timeout): one message, one copy of each file.
  for (let i = 0; i < 2; i++) expect((await postMail(channel, mail)).status).toBe(200);
  const [conv] = await conversationOf(apiKey, 'kim@customer.example');
  const [msg] = await messagesOf(apiKey, conv.id, 1);
  expect(msg.attachments).toMatchObject([
    { fileName: 'a.txt', mimeType: 'text/plain', size: 1 },
    { fileName: 'invoice.pdf', type: 'document', mimeType: 'application/pdf', size: pdf.length },
  ]);
  const open = (i: number) => fetch(`${stack.url}/api/conversations/${conv.id}/messages/${msg.id}/attachments/${i}`, { headers: { authorization: `Bearer ${apiKey}` } });
  expect(await (await open(0)).text()).toBe('x');
  const invoice = await open(1);
  expect([invoice.status, invoice.headers.get('content-type'), invoice.headers.get('content-disposition')]).toEqual([200, 'application/pdf', 'attachment; filename="invoice.pdf"']);
  expect(Buffer.from(await invoice.arrayBuffer()).equals(pdf)).toBe(true);
  // Both copies belong to the stored message (so the sweep of unclaimed files leaves them).
  expect(await stack.db('stored_media').where({ channel_id: channel.id, message_id: msg.id }).count({ n: '*' })).toEqual([{ n: '2' }]);
  expect(await stack.db('stored_media').where({ channel_id: channel.id }).count({ n: '*' })).toEqual([{ n: '2' }]);
});

test('a reply the SMTP server defers is retried and sent once; one it refuses for good fails with its reason', async () => {
  const { apiKey, channel } = await emailChannel();
  await postMail(channel, await composeMail({ from: 'eve@customer.example', to: 'support@acme.test', subject: 'Hello', text: 'Hello', messageId: mid() }));
  const [conv] = await conversationOf(apiKey, 'eve@customer.example');
  await messagesOf(apiKey, conv.id, 1);

  provider.failNext('server_error');
  await api(apiKey).post(`/api/conversations/${conv.id}/messages`, { content: 'First answer' });
  const sent = await messageWithStatus(apiKey, conv.id, 1, 'sent', 60_000);
  expect(sent.attempts).toBe(2);
  expect(provider.submitted.filter((m) => m.parsed.messageId === `<${sent.platform_message_id}>`)).toHaveLength(1);

  provider.failNext('no_such_user');
  await api(apiKey).post(`/api/conversations/${conv.id}/messages`, { content: 'Second answer' });
  const failed = await messageWithStatus(apiKey, conv.id, 2, 'failed');
  expect(failed.error).toMatch(/^SMTP server refused the mail: 550 5\.1\.1 The email account that you tried to reach does not exist/);
});

describe('inbound by IMAP', () => {
  /** A mailbox of its own per test (its own provider), read every second by a fresh channel; switched off after. */
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function imapChannel(before?: (mailbox: MailProvider) => Promise<unknown>) {
    const mailbox = await MailProvider.start();
    await before?.(mailbox);
    const { apiKey } = await createAccount(stack, 'mini');
    const created = await api(apiKey).post('/api/channels', { type: 'email', name: 'Support mailbox', config: mailbox.channelConfig('imap', { poll_interval_seconds: 1 }) });
    if (created.status !== 201) throw new Error(`channel create failed: ${created.status} ${created.text}`);
    const id: string = created.body.id;
    cleanups.push(async () => {
      await api(apiKey).patch(`/api/channels/${id}`, { is_active: false });
      await mailbox.stop();
    });
    const channel = await channelWithStatus(apiKey, id, 'connected');
    return { apiKey, channel, mailbox };
  }

  const channelWithStatus = (apiKey: string, id: string, status: string, message?: RegExp) =>
    eventually(async () => {
      const r = await api(apiKey).get(`/api/channels/${id}`);
      return r.body.status === status && (!message || message.test(r.body.status_message)) ? r.body : undefined;
    }, 30_000, `channel ${status}`);
  const poller = (channelId: string) => stack.temporal.workflow.getHandle(`email-poller/${channelId}`);
  const loginsAfter = (mailbox: MailProvider, n: number) => eventually(async () => mailbox.imapLogins.length >= n, 30_000, `${n} IMAP logins`);

  test('mail arriving in the mailbox reaches the inbox, in order; older mail is left alone, and nothing is marked read', async () => {
    // In the mailbox before the channel existed: last week's, and this morning's (an hour before).
    const { apiKey, channel, mailbox } = await imapChannel(async (m) => {
      m.deliver(await composeMail({ from: 'old@customer.example', to: 'support@acme.test', text: 'from last week', messageId: mid() }), new Date(Date.now() - 7 * 86_400_000));
      m.deliver(await composeMail({ from: 'old@customer.example', to: 'support@acme.test', text: 'from this morning', messageId: mid() }), new Date(Date.now() - 3_600_000));
    });
    expect(channel.status_message).toBe('connected as support@acme.test; polling for new messages');
    // The status is written just before the setup activity starts the poller.
    await eventually(async () => (await poller(channel.id).describe()).status.name === 'RUNNING', 30_000, 'poller running');
    const first = mid();
    mailbox.deliver(await composeMail({ from: 'Fay <fay@customer.example>', to: 'support@acme.test', subject: 'Invoice', text: 'one', messageId: first }));
    mailbox.deliver(await composeMail({ from: 'fay@customer.example', to: 'support@acme.test', subject: 'Re: Invoice', text: 'two', messageId: mid(), references: [first], inReplyTo: first }));
    const [conv] = await conversationOf(apiKey, 'fay@customer.example');
    expect((await messagesOf(apiKey, conv.id, 2)).map((m: any) => m.content)).toEqual(['one', 'two']);
    // A few more polls: nothing new is stored, and the older mail never is.
    const logins = mailbox.imapLogins.length;
    await loginsAfter(mailbox, logins + 2);
    expect(await messagesOf(apiKey, conv.id, 2)).toHaveLength(2);
    const r = await api(apiKey).get('/api/conversations?channel_type=email');
    expect(r.body.data.map((c: any) => c.contact.platform_user_id)).toEqual(['fay@customer.example']);
    expect(mailbox.messages().every((m) => !m.flags.includes('\\Seen'))).toBe(true);
    const state = await poller(channel.id).query('state');
    expect(state).toMatchObject({ handedOn: 2 });
  });

  test('a rebuilt mailbox (new UIDVALIDITY, UIDs reused) repeats nothing, and new mail still arrives', async () => {
    const { apiKey, mailbox } = await imapChannel();
    for (const text of ['one', 'two', 'three']) {
      mailbox.deliver(await composeMail({ from: 'gus@customer.example', to: 'support@acme.test', text, messageId: mid() }));
    }
    await conversationOf(apiKey, 'gus@customer.example', 3);
    // Rebuilt without the first two: "three" is UID 1 now, and the next mail gets UID 2, below the old cursor (3).
    mailbox.renumberMailbox(2);
    mailbox.deliver(await composeMail({ from: 'gus@customer.example', to: 'support@acme.test', text: 'after', messageId: mid() }));
    const convs = await conversationOf(apiKey, 'gus@customer.example', 4);
    const logins = mailbox.imapLogins.length;
    await loginsAfter(mailbox, logins + 2);
    const all = (await Promise.all(convs.map((c: any) => messagesOf(apiKey, c.id, 1)))).flat().map((m: any) => m.content);
    expect(all.sort()).toEqual(['after', 'one', 'three', 'two']);
  });

  test('a password changed at the provider: the channel says so and waits; new settings resume where it was', async () => {
    const { apiKey, channel, mailbox } = await imapChannel();
    mailbox.changePassword('rotated-password-2');
    mailbox.deliver(await composeMail({ from: 'hal@customer.example', to: 'support@acme.test', text: 'while locked out', messageId: mid() }));
    // The mailbox's login is not the SMTP login: replies keep going out, the channel is in error for its inbound side.
    const broken = await channelWithStatus(apiKey, channel.id, 'error', /^reading the mailbox failed: IMAP login failed: Invalid credentials/);
    expect(broken.status_message).toMatch(/update the channel's settings$/);
    await eventually(async () => ((await poller(channel.id).query('state')) as any).state === 'paused', 30_000, 'poller paused');

    const patched = await api(apiKey).patch(`/api/channels/${channel.id}`, {
      config: { inbound: { ...mailbox.channelConfig('imap').inbound, password: 'rotated-password-2', poll_interval_seconds: 1 }, smtp: { ...mailbox.channelConfig('imap').smtp, password: 'rotated-password-2' } },
    });
    expect(patched.status).toBe(200);
    await channelWithStatus(apiKey, channel.id, 'connected');
    const [conv] = await conversationOf(apiKey, 'hal@customer.example');
    expect((await messagesOf(apiKey, conv.id, 1)).map((m: any) => m.content)).toEqual(['while locked out']);
  });

  test("an attachment opens from the inbox: its bytes are read from the mail in the mailbox", async () => {
    const { apiKey, mailbox } = await imapChannel();
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256))]);
    const id = mid();
    // Another mail first, whose Message-ID contains this one's: IMAP's SEARCH HEADER matches substrings.
    mailbox.deliver(await composeMail({
      from: 'jo@customer.example', to: 'support@acme.test', subject: 'Decoy', text: 'other', messageId: `x${id}`,
      attachments: [{ filename: 'notes.txt', content: 'decoy file' }, { filename: 'other.pdf', content: 'not the invoice', contentType: 'application/pdf' }],
    }));
    mailbox.deliver(await composeMail({
      from: 'jo@customer.example', to: 'support@acme.test', subject: 'Invoice', text: 'attached', messageId: id,
      attachments: [{ filename: 'notes.txt', content: 'first file' }, { filename: 'Rechnung März.pdf', content: pdf, contentType: 'application/pdf' }],
    }));
    const convs = await conversationOf(apiKey, 'jo@customer.example', 2);
    const conv = (await Promise.all(convs.map(async (c: any) => ({ c, m: await messagesOf(apiKey, c.id, 1) })))).find((x) => x.m[0].content === 'attached')!.c;
    const [msg] = await messagesOf(apiKey, conv.id, 1);
    expect(msg.attachments.map((a: any) => [a.fileName, a.mimeType, a.size])).toEqual([['notes.txt', 'text/plain', 10], ['Rechnung März.pdf', 'application/pdf', pdf.length]]);
    const res = await fetch(`${stack.url}/api/conversations/${conv.id}/messages/${msg.id}/attachments/1`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="Rechnung M?rz.pdf"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf`);
    expect(Buffer.from(await res.arrayBuffer()).equals(pdf)).toBe(true);
    // Deleted from the mailbox since: the inbox says so.
    mailbox.renumberMailbox(2);
    const gone = await api(apiKey).get(`/api/conversations/${conv.id}/messages/${msg.id}/attachments/1`);
    expect([gone.status, gone.body.error.code, gone.body.error.message]).toEqual([404, 'media_not_available', 'the mail is no longer in the mailbox (moved or deleted)']);
  });

  test('switching the channel off ends its poller; its conversations stay', async () => {
    const { apiKey, channel, mailbox } = await imapChannel();
    mailbox.deliver(await composeMail({ from: 'ida@customer.example', to: 'support@acme.test', text: 'hello', messageId: mid() }));
    await conversationOf(apiKey, 'ida@customer.example');
    expect((await api(apiKey).patch(`/api/channels/${channel.id}`, { is_active: false })).status).toBe(200);
    await eventually(async () => (await poller(channel.id).describe()).status.name === 'COMPLETED', 30_000, 'poller completed');
    expect(await conversationOf(apiKey, 'ida@customer.example')).toHaveLength(1);
  });
});

test("an agent's files go out as the reply's MIME attachments, byte for byte; more than a mail can carry is refused when written", async () => {
  const { apiKey, channel } = await emailChannel();
  const first = mid();
  expect((await postMail(channel, await composeMail({ from: 'jo@customer.example', to: 'support@acme.test', subject: 'Invoice', text: 'Send it please', messageId: first }))).status).toBe(200);
  const [conv] = await conversationOf(apiKey, 'jo@customer.example');
  const upload = (bytes: Buffer, type: string, name: string) => agentUpload(stack, apiKey, conv.id, bytes, type, name);
  const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(50_000)]);
  const reply = await api(apiKey).post(`/api/conversations/${conv.id}/messages`, { content: 'Attached.', attachments: [await upload(pdf, 'application/pdf', 'invoice.pdf')] });
  expect(reply.status).toBe(202);
  const sent = await eventually(async () => provider.submitted.find((m) => m.parsed.inReplyTo === `<${first}>`), 30_000, 'the reply at the SMTP server');
  expect(sent.parsed.attachments.map((a) => [a.filename, a.contentType])).toEqual([['invoice.pdf', 'application/pdf']]);
  expect(sent.parsed.attachments[0].content.equals(pdf)).toBe(true);
  expect(sent.parsed.text?.trim()).toBe('Attached.');

  // Two 9.5 MiB files: past what a mail takes once encoded (13 MiB of files), refused naming the limit; nothing is sent or stored as a reply.
  const big = [await upload(randomBytes(9.5 * 1024 ** 2), 'application/zip', 'a.zip'), await upload(randomBytes(9.5 * 1024 ** 2), 'application/zip', 'b.zip')];
  const refused = await api(apiKey).post(`/api/conversations/${conv.id}/messages`, { content: 'Both archives', attachments: big });
  expect(refused.status).toBe(422);
  expect(refused.body.error).toMatchObject({ code: 'file_not_accepted', message: expect.stringMatching(/^these files come to 19 MiB; Email takes up to 13 MiB with one reply \(Outlook/) });
  expect((await messagesOf(apiKey, conv.id, 2)).map((m: any) => m.content)).toEqual(['Send it please', 'Attached.']);
});
