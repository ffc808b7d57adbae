import fs from 'node:fs';
import { emailAdapter } from '../../src/channels/email/adapter';
import { EmailConfig, emailConfigSchema } from '../../src/channels/email/config';
import { PlatformError } from '../../src/channels/platform-error';
import { ownMessageId } from '../../src/channels/email/threading';
import { withImap, type ImapSettings } from '../../src/channels/email/imap';
import { mailServerPolicy } from '../../src/channels/email/mail-server';
import type { AdapterContext } from '../../src/channels/types';
import { MAIL_TLS_CA_FILE, MailProvider } from '../helpers/mail-provider';

/** The email adapter against a real SMTP and IMAP server on loopback (no Temporal here: the adapter alone). */
const ctx: AdapterContext = {
  telegramApiBaseUrl: 'http://127.0.0.1:9',
  metaGraphBaseUrl: 'http://127.0.0.1:9',
  metaGraphVersion: 'v21.0',
  xApiBaseUrl: 'http://127.0.0.1:9',
  emailTlsCa: fs.readFileSync(MAIL_TLS_CA_FILE, 'utf8'),
  // The test's mail servers are on loopback, which PingBack refuses unless the operator allows it.
  emailAllowedHosts: ['127.0.0.1'],
};
const to = { threadKey: 'AAAAAAAAAAAAAAAAAAAAAA', platformUserId: 'ann@example.com' };
const reply = (content = 'It ships tomorrow.') => ({
  id: '3f0c6f0e-8a38-4a7e-9a56-0d5b8d3c2a11',
  content,
  inReplyTo: { platformMessageId: 'm2@example.com', metadata: { subject: 'Re: Order 1234', references: ['m1@example.com'] } },
});

async function failure(p: Promise<unknown>): Promise<PlatformError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof PlatformError)) throw new Error(`expected a PlatformError, got ${String(err)}`);
  return err;
}

/** The mail server of the describe block around it (started before its tests, stopped after), and an IMAP channel's config for it. */
function mailServerForSuite(opts?: Parameters<typeof MailProvider.start>[0]) {
  const suite = {} as { provider: MailProvider; cfg: EmailConfig };
  beforeAll(async () => {
    suite.provider = await MailProvider.start(opts);
    suite.cfg = emailConfigSchema.parse(suite.provider.channelConfig('imap'));
  });
  afterAll(() => suite.provider.stop());
  return suite;
}

describe.each([
  ['STARTTLS', false],
  ['implicit TLS', true],
])('email adapter, %s', (_name, implicitTls) => {
  const suite = mailServerForSuite({ implicitTls });

  it('sends a reply the customer sees threaded: Re: subject, In-Reply-To, References, a Message-ID of its own, over TLS with AUTH', async () => {
    const sent = await emailAdapter.send(suite.cfg, to, reply(), ctx);
    expect(sent.platformMessageId).toBe(ownMessageId(to.threadKey, "3f0c6f0e-8a38-4a7e-9a56-0d5b8d3c2a11", "support@acme.test", "ann@example.com"));
    const mail = suite.provider.submitted.at(-1)!;
    expect(mail.to).toEqual(['ann@example.com']);
    expect(mail.from).toBe('support@acme.test');
    expect(mail.parsed.from?.value[0]).toEqual({ address: 'support@acme.test', name: 'Acme Support' });
    expect(mail.parsed.subject).toBe('Re: Order 1234');
    expect(mail.parsed.messageId).toBe(`<${sent.platformMessageId}>`);
    expect(mail.parsed.inReplyTo).toBe('<m2@example.com>');
    expect(mail.parsed.references).toEqual(['<m1@example.com>', '<m2@example.com>']);
    expect(mail.parsed.text?.trim()).toBe('It ships tomorrow.');
    expect(suite.provider.smtpLogins.at(-1)).toEqual({ user: 'support@acme.test', ok: true, tls: true });
  });

  it('checks both servers: SMTP login and the IMAP mailbox', async () => {
    await expect(emailAdapter.checkCredentials!(suite.cfg, ctx)).resolves.toEqual({
      platformAccountId: `imap://support@acme.test@127.0.0.1:${suite.provider.imapPort}/INBOX`,
      account: 'support@acme.test',
    });
  });
});

describe('email adapter failures', () => {
  const suite = mailServerForSuite();

  it.each([
    ['rate_limit', 'rate_limited', 421, true],
    ['server_error', 'unavailable', 451, true],
    ['no_such_user', 'rejected', 550, false],
    ['message_too_large', 'rejected', 552, false],
  ] as const)('SMTP %s is %s', async (kind, expected, status, retryable) => {
    suite.provider.failNext(kind);
    const err = await failure(emailAdapter.send(suite.cfg, to, reply(), ctx));
    expect({ kind: err.kind, status: err.details.status, retryable: err.retryable }).toEqual({ kind: expected, status, retryable });
  });

  it('a login refused "for now" (454) is retried, not taken for wrong credentials', async () => {
    suite.provider.throttleNextLogins(1);
    const err = await failure(emailAdapter.send(suite.cfg, to, reply(), ctx));
    expect({ kind: err.kind, status: err.details.status, retryable: err.retryable }).toEqual({ kind: 'rate_limited', status: 454, retryable: true });
  });

  it('a refused SMTP password is the channel credentials', async () => {
    const err = await failure(emailAdapter.send({ ...suite.cfg, smtp: { ...suite.cfg.smtp, password: 'wrong' } }, to, reply(), ctx));
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/SMTP login failed: 535 5\.7\.8 Username and Password not accepted/);
  });

  it('a server nobody answers on is unavailable (retried)', async () => {
    const err = await failure(emailAdapter.send({ ...suite.cfg, smtp: { ...suite.cfg.smtp, port: 9 } }, to, reply(), ctx));
    expect(err).toMatchObject({ kind: 'unavailable' });
  });

  it('a server whose certificate is not trusted gets no password, and no retry: the channel settings are wrong', async () => {
    const err = await failure(emailAdapter.send(suite.cfg, to, reply(), { ...ctx, emailTlsCa: undefined }));
    expect(err.kind).toBe('auth');
    expect(err.message).toBe('SMTP TLS failed: self-signed certificate');
    const check = await failure(emailAdapter.checkCredentials!(suite.cfg, { ...ctx, emailTlsCa: undefined }));
    expect(check.kind).toBe('auth');
    expect(suite.provider.smtpLogins.filter((l) => !l.tls)).toEqual([]);
  });

  it("Node's own CAs stay trusted beside EMAIL_TLS_CA_FILE (a company CA must not cut off public providers)", () => {
    const { tlsOptions } = require('../../src/channels/email/tls');
    const { ca } = tlsOptions('smtp.gmail.com', { ca: ctx.emailTlsCa });
    expect(ca).toHaveLength(require('node:tls').rootCertificates.length + 1);
    expect(ca.at(-1)).toBe(ctx.emailTlsCa);
  });

  it('IMAP: a refused login is the credentials; a missing folder is the settings; UNAVAILABLE is retried', async () => {
    const wrongPassword = await failure(emailAdapter.checkCredentials!({ ...suite.cfg, inbound: { ...(suite.cfg.inbound as any), password: 'nope' } }, ctx));
    expect(wrongPassword).toMatchObject({ kind: 'auth' });
    expect(wrongPassword.message).toMatch(/IMAP login failed.*Invalid credentials/);
    const noFolder = await failure(emailAdapter.checkCredentials!({ ...suite.cfg, inbound: { ...(suite.cfg.inbound as any), mailbox: 'Support' } }, ctx));
    expect(noFolder).toMatchObject({ kind: 'auth' });
    expect(noFolder.message).toMatch(/mailbox does not exist/);
    suite.provider.setImapUnavailable(true);
    try {
      await expect(failure(emailAdapter.checkCredentials!(suite.cfg, ctx))).resolves.toMatchObject({ kind: 'unavailable' });
    } finally {
      suite.provider.setImapUnavailable(false);
    }
  });
});

describe('a mail server that offers no TLS', () => {
  const suite = mailServerForSuite({ offerTls: false });

  it('gets no password, by SMTP or IMAP, and no retry: the channel settings are wrong', async () => {
    const send = await failure(emailAdapter.send(suite.cfg, to, reply(), ctx));
    expect(send.kind).toBe('auth');
    expect(send.message).toMatch(/^SMTP TLS failed/);
    const imap = await failure(withImap(suite.cfg.inbound as ImapSettings, mailServerPolicy(ctx), async () => undefined));
    expect(imap.kind).toBe('auth');
    expect(imap.message).toMatch(/^IMAP TLS failed/);
    expect(suite.provider.smtpLogins).toEqual([]);
    expect(suite.provider.imapLogins).toEqual([]);
  });
});

describe('mail servers tenants cannot reach through PingBack', () => {
  const suite = mailServerForSuite();
  const at = (host: string): EmailConfig => ({ ...suite.cfg, smtp: { ...suite.cfg.smtp, host }, inbound: { ...(suite.cfg.inbound as ImapSettings), host } });
  const noAllowance = { ...ctx, emailAllowedHosts: [] };

  it('loopback, private, link-local (cloud metadata) and CGNAT addresses are refused before any connection, by SMTP and IMAP, naming only the host typed', async () => {
    for (const host of ['127.0.0.1', 'localhost', '10.0.0.5', '192.168.1.10', '169.254.169.254', '100.64.0.1', '::1', '0.0.0.0']) {
      const send = await failure(emailAdapter.send(at(host), to, reply(), noAllowance));
      expect([host, send.kind, send.message]).toEqual([host, 'auth', `SMTP server ${host} is not at a public address; PingBack connects only to public mail servers (an operator can allow this one with EMAIL_ALLOWED_HOSTS)`]);
      const check = await failure(emailAdapter.checkCredentials!(at(host), noAllowance));
      expect([host, check.kind]).toEqual([host, 'auth']);
    }
    expect(suite.provider.smtpLogins).toEqual([]);
    expect(suite.provider.imapLogins).toEqual([]);
  });

  it('an operator allows a host by name, address or range; a name is then connected to at the address it was checked at', async () => {
    for (const allowed of [['127.0.0.1'], ['127.0.0.0/8'], ['localhost']]) {
      const host = allowed[0] === 'localhost' ? 'localhost' : '127.0.0.1';
      await expect(emailAdapter.checkCredentials!(at(host), { ...ctx, emailAllowedHosts: allowed })).resolves.toMatchObject({ account: suite.cfg.address });
    }
  });

  it("the socket's words never carry the address it tried", async () => {
    const err = await failure(emailAdapter.send({ ...suite.cfg, smtp: { ...suite.cfg.smtp, port: 9 } }, to, reply(), ctx));
    expect(err.kind).toBe('unavailable');
    expect(err.message).not.toMatch(/127\.0\.0\.1|:9\b/);
  });
});
