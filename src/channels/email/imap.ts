import { ImapFlow, ImapFlowErrorCode } from 'imapflow';
import { PlatformError } from '../platform-error';
import type { EmailConfig } from './config';
import { isIP } from 'node:net';
import { mailServerAddress, withoutAddresses, type MailServerPolicy } from './mail-server';
import { isCertificateError, tlsOptions } from './tls';

export type ImapSettings = Extract<EmailConfig['inbound'], { method: 'imap' }>;

const TIMEOUT_MS = 30_000;

/**
 * One IMAP session for the length of `work`: connect, log in, run, log out. A poll (or an
 * agent opening an attachment) is a short session rather than a connection held open: nothing
 * to keep alive across worker restarts, and few sessions at once for providers that cap them.
 * `secure: false` means STARTTLS, and it is required, as for SMTP.
 */
export async function withImap<T>(imap: ImapSettings, policy: MailServerPolicy, work: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({
    // The address mailServerAddress checked; the certificate is still checked against the host's name.
    host: await mailServerAddress(imap.host, policy, 'IMAP'),
    ...(isIP(imap.host) ? {} : { servername: imap.host }),
    port: imap.port,
    secure: imap.secure,
    ...(imap.secure ? {} : { doSTARTTLS: true }),
    auth: { user: imap.user, pass: imap.password },
    tls: tlsOptions(imap.host, policy),
    logger: false,
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
    // No IDLE between commands of a short session.
    disableAutoIdle: true,
  });
  // Socket errors after a command settled surface as 'error' events; unhandled they would crash the worker.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw imapError(err);
  }
  try {
    return await work(client);
  } catch (err) {
    // Only the session's own failures are the server's; the database's or Temporal's pass as they are.
    throw isImapFailure(err) ? imapError(err) : err;
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** What imapflow raises: a server's tagged NO/BAD, one of its own codes, or the socket's (ECONNRESET …). */
function isImapFailure(err: unknown): boolean {
  const e = err as ImapFailure & { responseStatus?: string };
  if (err instanceof PlatformError || !(err instanceof Error)) return false;
  return e.responseStatus !== undefined || e.authenticationFailed === true || e.tlsFailed === true || (typeof e.code === 'string' && (e.code in ImapFlowErrorCode || /^E[A-Z]+$/.test(e.code)));
}

interface ImapFailure extends Error {
  code?: string;
  authenticationFailed?: boolean;
  tlsFailed?: boolean;
  serverResponseCode?: string;
  responseText?: string;
}

/**
 * How an IMAP session failed: a refused login is the channel's credentials (RFC 5530
 * AUTHENTICATIONFAILED, or any other NO to LOGIN but UNAVAILABLE); a mailbox that does not
 * exist, no TLS where it is required and an untrusted certificate are the channel's settings;
 * anything else (refused, reset, timed out, BYE) is the server being unreachable for now.
 */
export function imapError(err: unknown): PlatformError {
  const e = err as ImapFailure;
  const said = e.responseText ? `: ${e.responseText}` : '';
  // A login refused "for now" (the server's auth backend down, RFC 5530): not the credentials.
  if (e.serverResponseCode === 'UNAVAILABLE') {
    return new PlatformError('unavailable', `IMAP server unavailable${said}`, { platformCode: e.serverResponseCode });
  }
  if (e.authenticationFailed || e.serverResponseCode === 'AUTHENTICATIONFAILED' || e.serverResponseCode === 'AUTHORIZATIONFAILED') {
    return new PlatformError('auth', `IMAP login failed${said || `: ${withoutAddresses(e.message)}`}`, { platformCode: e.serverResponseCode ?? 'AUTHENTICATIONFAILED' });
  }
  if (e.serverResponseCode === 'NONEXISTENT') {
    return new PlatformError('auth', `IMAP mailbox does not exist${said}`, { platformCode: e.serverResponseCode });
  }
  if (isCertificateError(e.code)) return new PlatformError('auth', `IMAP TLS failed: ${withoutAddresses(e.message)}`, { platformCode: e.code });
  if (e.tlsFailed) return new PlatformError('auth', `IMAP TLS failed: ${withoutAddresses(e.message)}`, { platformCode: 'TLS' });
  return new PlatformError('unavailable', `IMAP server unreachable: ${withoutAddresses(e.message)}${said}`, { platformCode: e.code ?? e.serverResponseCode });
}
