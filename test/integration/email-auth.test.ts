import { MAIL_TLS_CA_FILE, MailProvider } from '../helpers/mail-provider';
import { startDnsServer } from '../helpers/dns-server';
import { receivedMail, sendingDomain } from '../helpers/mail-auth';
import { createAccount, eventually, request, Stack, stackWithFake } from '../helpers/stack';

/**
 * Who sent a mail, checked (SPF, DKIM, DMARC) on the real stack: mail posted to the webhook
 * and read from the mailbox, the sending domain's records served by a DNS server on loopback
 * (MAIL_AUTH_DNS_SERVERS), the result on each message as the API shows it.
 */
const customer = sendingDomain('customer.example', { dmarc: 'reject' });
let dns: Awaited<ReturnType<typeof startDnsServer>>;
beforeAll(async () => {
  dns = await startDnsServer(customer);
});
afterAll(() => dns?.stop());

let stack: Stack;
let provider: MailProvider;
stackWithFake(() => MailProvider.start(), () => ({ EMAIL_TLS_CA_FILE: MAIL_TLS_CA_FILE, MAIL_AUTH_DNS_SERVERS: dns.address }), (s, p) => {
  stack = s;
  provider = p;
});

async function emailChannel(inbound: 'webhook' | 'imap', extra: Record<string, unknown> = {}) {
  const { apiKey } = await createAccount(stack, 'mini');
  const config = { ...provider.channelConfig(inbound, inbound === 'imap' ? { poll_interval_seconds: 1 } : {}), ...extra };
  const created = await request(stack.url, 'POST', '/api/channels', { token: apiKey, json: { type: 'email', config } });
  if (created.status !== 201) throw new Error(`channel create failed: ${created.status} ${created.text}`);
  await eventually(async () => (await request(stack.url, 'GET', `/api/channels/${created.body.id}`, { token: apiKey })).body.status === 'connected', 30_000, 'connected');
  return { apiKey, channel: created.body };
}

const post = (channel: { callback_url: string; verify_token: string }, raw: Buffer) =>
  request(stack.url, 'POST', new URL(channel.callback_url).pathname, {
    body: raw.toString(),
    headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${channel.verify_token}` },
  });

/** The newest message from `address`, as the inbox API shows it. */
function messageFrom(apiKey: string, address: string, content: string) {
  return eventually(async () => {
    const convs = await request(stack.url, 'GET', '/api/conversations?channel_type=email', { token: apiKey });
    for (const c of convs.body.data.filter((c: any) => c.contact.platform_user_id === address)) {
      const msgs = await request(stack.url, 'GET', `/api/conversations/${c.id}/messages`, { token: apiKey });
      const m = msgs.body.data.find((m: any) => m.content === content);
      if (m) return m;
    }
    return undefined;
  }, 30_000, `the message "${content}"`);
}

test('by webhook: a signed mail is verified, a forged one is shown as failing DMARC', async () => {
  const { apiKey, channel } = await emailChannel('webhook');
  expect((await post(channel, await receivedMail({ from: 'ann@customer.example', sign: customer, body: 'signed and sent from our server' }))).status).toBe(200);
  expect((await post(channel, await receivedMail({ from: 'ann@customer.example', clientIp: '198.51.100.66', body: 'pay this invoice now' }))).status).toBe(200);

  const real = await messageFrom(apiKey, 'ann@customer.example', 'signed and sent from our server');
  expect(real.metadata.mail_auth).toEqual({ verdict: 'pass', domain: 'customer.example', dmarc: 'pass', policy: 'reject', spf: 'pass', dkim: 'pass' });
  const forged = await messageFrom(apiKey, 'ann@customer.example', 'pay this invoice now');
  expect(forged.metadata.mail_auth).toMatchObject({ verdict: 'fail', dmarc: 'fail', spf: 'fail', dkim: 'none' });
});

test('a channel that refuses DMARC failures sets the forged mail aside, with the reason, and takes the real one', async () => {
  const { apiKey, channel } = await emailChannel('webhook', { refuse_dmarc_failures: true });
  const forged = await post(channel, await receivedMail({ from: 'ceo@customer.example', clientIp: '198.51.100.66', body: 'wire the money' }));
  expect(forged.status).toBe(200);
  expect(forged.body).toEqual({ ok: true, ignored: 'dmarc_fail' });
  const aside = await stack.db('ignored_events').where({ channel_id: channel.id, reason: 'dmarc_fail' });
  expect(aside).toHaveLength(1);
  expect(aside[0].payload).toMatchObject({ from: 'ceo@customer.example', problem: expect.stringContaining('DMARC policy (reject)') });

  expect((await post(channel, await receivedMail({ from: 'ceo@customer.example', sign: customer, body: 'the real one' }))).status).toBe(200);
  expect((await messageFrom(apiKey, 'ceo@customer.example', 'the real one')).metadata.mail_auth.verdict).toBe('pass');
  const convs = await request(stack.url, 'GET', '/api/conversations?channel_type=email', { token: apiKey });
  const msgs = await request(stack.url, 'GET', `/api/conversations/${convs.body.data[0].id}/messages`, { token: apiKey });
  expect(msgs.body.data.map((m: any) => m.content)).toEqual(['the real one']);
});

test('from the mailbox: the check runs on what the poller reads, and a refused mail does not hold up the next', async () => {
  const { apiKey, channel } = await emailChannel('imap', { refuse_dmarc_failures: true });
  provider.deliver(await receivedMail({ from: 'bo@customer.example', clientIp: '198.51.100.66', body: 'forged in the mailbox' }));
  provider.deliver(await receivedMail({ from: 'bo@customer.example', sign: customer, body: 'genuine in the mailbox' }));
  expect((await messageFrom(apiKey, 'bo@customer.example', 'genuine in the mailbox')).metadata.mail_auth.verdict).toBe('pass');
  await eventually(async () => (await stack.db('ignored_events').where({ channel_id: channel.id, reason: 'dmarc_fail' })).length === 1, 30_000, 'the forged mail set aside');
});
