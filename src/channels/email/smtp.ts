import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { PlatformError } from '../platform-error';
import type { EmailConfig } from './config';
import { mailServerAddress, withoutAddresses, type MailServerPolicy } from './mail-server';
import { isCertificateError, tlsOptions, type TlsTrust } from './tls';

/** A mail server that has not answered in this long is treated as down (the send is retried). */
const TIMEOUT_MS = 30_000;

/**
 * The SMTP submission transport of a channel. `secure: false` means STARTTLS, and it is
 * required: a server that does not offer it (or an attacker who strips the offer) would
 * otherwise receive the password in clear.
 */
export function smtpTransport(smtp: EmailConfig['smtp'], trust: TlsTrust, address = smtp.host) {
  const options: SMTPTransport.Options = {
    // The address mailServerAddress checked; the certificate is still checked against the host's name.
    host: address,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: !smtp.secure,
    auth: { user: smtp.user, pass: smtp.password },
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
    tls: tlsOptions(smtp.host, trust),
  };
  return nodemailer.createTransport(options);
}

/** One SMTP connection for the length of `work`, its failures classified (the twin of withImap). */
export async function withSmtp<T>(smtp: EmailConfig['smtp'], policy: MailServerPolicy, work: (transport: ReturnType<typeof smtpTransport>) => Promise<T>): Promise<T> {
  const transport = smtpTransport(smtp, policy, await mailServerAddress(smtp.host, policy, 'SMTP'));
  try {
    return await work(transport);
  } catch (err) {
    throw smtpError(err);
  } finally {
    transport.close();
  }
}

interface SmtpFailure extends Error {
  code?: string;
  /** The socket's own code, which nodemailer replaces with ESOCKET. */
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/**
 * SMTP's answer, classified where it is read (RFC 5321 §4.2.1): 4xx is transient by
 * definition (421 service closing, 450/451 try later, 452 over quota or too many
 * recipients for now), 5xx permanent; 530/534/535, a failed login and TLS that cannot be
 * trusted are the channel's settings; a connection that fails or hangs is the server being down.
 */
export function smtpError(err: unknown): PlatformError {
  if (err instanceof PlatformError) return err;
  const e = err as SmtpFailure;
  const reply = e.response ? e.response.replace(/\s+/g, ' ').trim().slice(0, 300) : undefined;
  const status = e.responseCode;
  if (status !== undefined && status >= 400 && status < 500) {
    // Providers say "rate" or "too many" in their 4xx throttling replies (Gmail's 4.7.28, Microsoft's 4.7.500).
    const kind = /rate|too many|throttl/i.test(reply ?? '') ? 'rate_limited' : 'unavailable';
    return new PlatformError(kind, `SMTP server deferred the mail: ${reply}`, { status, platformCode: e.code });
  }
  // Before 5xx: a server that answers STARTTLS with 500 has no TLS to offer, whatever it says.
  if (e.code === 'ETLS' || isCertificateError(e.originalCode)) {
    // A server that offers no STARTTLS, or a certificate that cannot be trusted: nothing gets
    // through until the channel's settings (or the deployment's EMAIL_TLS_CA_FILE) change.
    return new PlatformError('auth', `SMTP TLS failed: ${withoutAddresses(e.message)}`, { platformCode: e.originalCode ?? e.code });
  }
  // After 4xx: a login refused "for now" (RFC 4954's 454 4.7.0, Gmail's "too many login attempts") is not the credentials.
  if (e.code === 'EAUTH' || status === 530 || status === 534 || status === 535) {
    return new PlatformError('auth', `SMTP login failed: ${reply ?? withoutAddresses(e.message)}`, { status, platformCode: e.code });
  }
  if (status !== undefined && status >= 500) {
    return new PlatformError('rejected', `SMTP server refused the mail: ${reply}`, { status, platformCode: e.code });
  }
  // ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, a dropped connection: the server is down or unreachable for now.
  // Never the socket's own words, which name the address and port it tried.
  return new PlatformError('unavailable', `SMTP server unreachable: ${withoutAddresses(e.message)}`, { platformCode: e.code });
}
