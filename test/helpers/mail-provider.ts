import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import hoodiecrow from 'hoodiecrow-imap';
import MailComposer from 'nodemailer/lib/mail-composer';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * A mail provider on loopback, as an email channel sees one: an SMTP submission server
 * (smtp-server, the server half of nodemailer) that wants AUTH over TLS, and an IMAP server
 * (hoodiecrow-imap) holding the support mailbox. Both speak the real protocols over real
 * sockets, with the test certificate in test/fixtures/tls. Failures are the replies real
 * servers give: RFC 5321 reply codes with RFC 3463 enhanced codes, worded as Gmail's
 * (support.google.com/a/answer/3726730), and RFC 5530 response codes for IMAP.
 */

const TLS_DIR = path.resolve(__dirname, '../fixtures/tls');
export const MAIL_TLS_CA_FILE = path.join(TLS_DIR, 'mail-server.crt');
const credentials = () => ({ key: fs.readFileSync(path.join(TLS_DIR, 'mail-server.key')), cert: fs.readFileSync(MAIL_TLS_CA_FILE) });

export type SmtpFailure =
  /** Gmail's per-user sending limit: transient. */
  | 'rate_limit'
  /** The server's own trouble, "try again later": transient. */
  | 'server_error'
  /** The recipient's mailbox does not exist: permanent. */
  | 'no_such_user'
  | 'message_too_large';

const SMTP_REPLIES: Record<SmtpFailure, { code: number; text: string }> = {
  rate_limit: { code: 421, text: '4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.' },
  server_error: { code: 451, text: '4.3.0 Mail server temporarily rejected message.' },
  no_such_user: { code: 550, text: "5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces." },
  message_too_large: { code: 552, text: '5.3.4 Your message exceeded Google\'s message size limits.' },
};

/** The failures `failNext` can give. */
export const SMTP_FAILURES = Object.keys(SMTP_REPLIES) as SmtpFailure[];

export interface SubmittedMail {
  from: string;
  to: string[];
  raw: string;
  parsed: ParsedMail;
}

export interface MailProviderOptions {
  user?: string;
  password?: string;
  /** TLS from the first byte (SMTP 465 / IMAP 993 style) instead of STARTTLS. */
  implicitTls?: boolean;
  /**
   * false: a server that offers no STARTTLS (misconfigured, or an attacker stripping the offer)
   * and would take a password in clear: what a client must refuse to do.
   */
  offerTls?: boolean;
  /** Fixed ports (the offline sandbox); by default free ones. */
  smtpPort?: number;
  imapPort?: number;
}

export class MailProvider {
  readonly submitted: SubmittedMail[] = [];
  readonly smtpLogins: Array<{ user: string; ok: boolean; tls: boolean }> = [];
  readonly imapLogins: Array<{ user: string; ok: boolean }> = [];
  private failures: SmtpFailure[] = [];
  private loginFailures = 0;
  private readonly sockets = new Set<Socket>();
  private readonly imapConnections = new Set<{ socket: Socket | null }>();
  private imapDown = false;

  private constructor(
    readonly user: string,
    readonly password: string,
    readonly implicitTls: boolean,
    private readonly smtp: SMTPServer,
    private readonly imap: ReturnType<typeof hoodiecrow>,
    readonly smtpPort: number,
    readonly imapPort: number,
  ) {}

  static async start(opts: MailProviderOptions = {}): Promise<MailProvider> {
    const user = opts.user ?? 'support@acme.test';
    const password = opts.password ?? 'app-password-1';
    const implicitTls = opts.implicitTls ?? false;
    const offerTls = opts.offerTls ?? true;
    let provider!: MailProvider;

    const smtp = new SMTPServer({
      ...credentials(),
      secure: implicitTls,
      authMethods: ['PLAIN', 'LOGIN'],
      // As every submission server: no AUTH before TLS (RFC 4954 §4), so a client must upgrade.
      // Without TLS on offer it takes AUTH in clear, so a client that sends it is caught.
      allowInsecureAuth: !offerTls,
      ...(offerTls ? {} : { disabledCommands: ['STARTTLS'] }),
      size: 25 * 1024 * 1024,
      logger: false,
      onAuth(auth, session, cb) {
        const ok = auth.username === provider.user && auth.password === provider.password;
        provider.smtpLogins.push({ user: auth.username ?? '', ok, tls: Boolean(session.secure) });
        if (provider.loginFailures > 0) {
          provider.loginFailures--;
          return cb(smtpFailure(454, '4.7.0 Too many login attempts, please try again later. https://support.google.com/mail/answer/7126229'));
        }
        if (ok) return cb(null, { user: auth.username });
        cb(smtpFailure(535, '5.7.8 Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials'));
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', async () => {
          const failure = provider.failures.shift();
          if (failure) return cb(smtpFailure(SMTP_REPLIES[failure].code, SMTP_REPLIES[failure].text));
          const raw = Buffer.concat(chunks).toString('utf8');
          provider.submitted.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            parsed: await simpleParser(raw),
          });
          cb();
        });
      },
    });
    smtp.on('error', () => undefined);
    await new Promise<void>((resolve) => smtp.listen(opts.smtpPort ?? 0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as AddressInfo).port;

    const imap = hoodiecrow({
      plugins: ['STARTTLS', 'IDLE', 'UIDPLUS', 'ENABLE', 'ID', 'UNSELECT', 'SPECIAL-USE'].filter((p) => p !== 'STARTTLS' || (offerTls && !implicitTls)),
      secureConnection: implicitTls,
      credentials: credentials(),
      users: { [user]: { password } },
      storage: { INBOX: { messages: [] }, '': { separator: '/', folders: { Sent: { 'special-use': '\\Sent', messages: [] } } } },
    });
    // A fresh mailbox gets a UIDVALIDITY of its own, as Dovecot's (a timestamp): a sandbox
    // restarted with an empty mailbox must not look like the old one to a client's cursor.
    imap.getMailbox('INBOX').uidvalidity = Math.floor(Date.now() / 1000);
    await new Promise<void>((resolve) => imap.listen(opts.imapPort ?? 0, '127.0.0.1', resolve));
    const imapPort = (imap.server.address() as AddressInfo).port;

    provider = new MailProvider(user, password, implicitTls, smtp, imap, smtpPort, imapPort);
    provider.wrapImap();
    return provider;
  }

  /** An email channel's config for this provider's mailbox (inbound by IMAP, or by webhook). */
  channelConfig(inbound: 'imap' | 'webhook' = 'imap', extra: Record<string, unknown> = {}) {
    const secure = this.implicitTls;
    return {
      address: this.user,
      inbound:
        inbound === 'imap'
          ? { method: 'imap', host: '127.0.0.1', port: this.imapPort, secure, user: this.user, password: this.password, mailbox: 'INBOX', ...extra }
          : { method: 'webhook' },
      smtp: { host: '127.0.0.1', port: this.smtpPort, secure, user: this.user, password: this.password },
      from_name: 'Acme Support',
    };
  }

  /** The next SMTP logins are refused "for now" (454, as Gmail after too many attempts). */
  throttleNextLogins(n: number): void {
    this.loginFailures += n;
  }

  /** The next submissions answer with these failures, one each, in order. */
  failNext(...failures: SmtpFailure[]): void {
    this.failures.push(...failures);
  }

  /** A mail reaches the support mailbox, as the provider's MX would deliver it. */
  deliver(raw: string | Buffer, internalDate = new Date()): number {
    return this.imap.appendMessage('INBOX', [], internalDate, raw.toString()).message.uid;
  }

  /** What the support mailbox holds, flags included. */
  messages(): Array<{ uid: number; flags: string[] }> {
    return this.imap.getMailbox('INBOX').messages.map((m) => ({ uid: m.uid, flags: m.flags }));
  }

  /**
   * The mailbox rebuilt (a migration, a restore): new UIDVALIDITY, every message numbered anew
   * from 1 (RFC 3501 §2.3.1.1), the first `drop` of them gone, so new mail gets UIDs the old
   * numbering had already used.
   */
  renumberMailbox(drop = 0): void {
    const inbox = this.imap.getMailbox('INBOX');
    inbox.messages.splice(0, drop);
    inbox.uidvalidity += 1;
    inbox.uidnext = 1;
    for (const m of inbox.messages) m.uid = inbox.uidnext++;
  }

  /** The IMAP server answers every login with UNAVAILABLE (RFC 5530) until `down` is false again. */
  setImapUnavailable(down: boolean): void {
    this.imapDown = down;
  }

  /** The mailbox password changed at the provider. */
  changePassword(password: string): void {
    (this as { password: string }).password = password;
    this.imap.users[this.user] = { password };
  }

  async stop(): Promise<void> {
    // The socket hoodiecrow writes to (the TLS one after STARTTLS) is destroyed, not the one under
    // it: a TLS socket whose transport vanished fails its next write with EBADF, and hoodiecrow has
    // removed its error listener by then, which would crash the test process.
    for (const c of this.imapConnections) c.socket?.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.smtp.close(() => resolve()));
    await new Promise<void>((resolve) => this.imap.close(() => resolve()));
  }

  /** LOGIN, SELECT and EXAMINE fail as Gmail's do (hoodiecrow's own replies have no RFC 5530 codes); connections tracked for stop(). */
  private wrapImap(): void {
    this.imap.connectionHandlers.push((c) => this.imapConnections.add(c));
    this.imap.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    const login = this.imap.getCommandHandler('LOGIN');
    this.imap.setCommandHandler('LOGIN', (connection, parsed, data, callback) => {
      const [u, p] = (parsed.attributes ?? []).map((a: { value: string }) => a?.value);
      const no = (text: string) => {
        connection.send({ tag: parsed.tag, command: 'NO', attributes: [{ type: 'TEXT', value: text }] }, 'LOGIN FAILED', parsed, data);
        callback();
      };
      if (this.imapDown) return no('[UNAVAILABLE] Temporary authentication failure');
      const ok = u === this.user && p === this.password;
      this.imapLogins.push({ user: u ?? '', ok });
      if (!ok && typeof u === 'string' && typeof p === 'string') return no('[AUTHENTICATIONFAILED] Invalid credentials (Failure)');
      login(connection, parsed, data, callback);
    });
    for (const command of ['SELECT', 'EXAMINE']) {
      const open = this.imap.getCommandHandler(command);
      this.imap.setCommandHandler(command, (connection, parsed, data, callback) => {
        const name = parsed.attributes?.[0]?.value;
        if (typeof name === 'string' && !this.imap.getMailbox(name)) {
          connection.send({ tag: parsed.tag, command: 'NO', attributes: [{ type: 'TEXT', value: `[NONEXISTENT] Unknown Mailbox: ${name} (Failure)` }] }, `${command} FAILED`, parsed, data);
          return callback();
        }
        open(connection, parsed, data, callback);
      });
    }
  }
}

function smtpFailure(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

/** A customer's mail as their client composes it (nodemailer's composer: real MIME, real headers). */
export async function composeMail(mail: {
  from: string;
  to: string;
  subject?: string;
  text?: string;
  html?: string;
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  headers?: Record<string, string>;
  attachments?: Array<{ filename: string; content: string | Buffer; contentType?: string }>;
  date?: Date;
}): Promise<Buffer> {
  return new MailComposer({
    ...mail,
    ...(mail.messageId ? { messageId: `<${mail.messageId}>` } : {}),
    ...(mail.inReplyTo ? { inReplyTo: `<${mail.inReplyTo}>` } : {}),
    ...(mail.references ? { references: mail.references.map((r) => `<${r}>`) } : {}),
    date: mail.date ?? new Date(),
  })
    .compile()
    .build();
}

/**
 * A delivery status notification (RFC 3464) as Postfix writes one: the receiving server
 * refused `original` (a mail's Message-ID), whose headers come back as text/rfc822-headers.
 */
export function deliveryStatusNotification(opts: { to: string; recipient: string; original: string; action?: 'failed' | 'delayed' }): Buffer {
  return Buffer.from(
    [
      'From: MAILER-DAEMON@mx.example.com (Mail Delivery System)',
      `To: ${opts.to}`,
      'Subject: Undelivered Mail Returned to Sender',
      `Message-Id: <dsn.${Date.now()}.${Math.random().toString(36).slice(2)}@mx.example.com>`,
      'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"',
      '',
      '--B1',
      'Content-Description: Notification',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'This is the mail system at host mx.example.com.',
      "I'm sorry to have to inform you that your message could not be delivered.",
      '',
      '--B1',
      'Content-Description: Delivery report',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.com',
      '',
      `Final-Recipient: rfc822; ${opts.recipient}`,
      `Action: ${opts.action ?? 'failed'}`,
      `Status: ${opts.action === 'delayed' ? '4.4.1' : '5.1.1'}`,
      'Remote-MTA: dns; mx.customer.example',
      `Diagnostic-Code: smtp; 550 5.1.1 <${opts.recipient}>: Recipient address`,
      '    rejected: User unknown in virtual mailbox table',
      '',
      '--B1',
      'Content-Description: Undelivered Message Headers',
      'Content-Type: text/rfc822-headers',
      '',
      `From: ${opts.to}`,
      `To: ${opts.recipient}`,
      'Subject: Re: Order 1234',
      `Message-ID: <${opts.original}>`,
      '',
      '--B1--',
      '',
    ].join('\r\n'),
  );
}
