import type { ParsedMail } from 'mailparser';
import { bareMessageId, threadKeyInOwnId } from './threading';

/**
 * A delivery status notification (RFC 3464) saying a reply PingBack sent could not be
 * delivered: the reply is then marked failed with the receiving server's words, as a
 * WhatsApp reply is when Meta reports it failed. Only a final "Action: failed" counts;
 * "delayed" is the server still trying.
 */
export interface Bounce {
  /** PingBack's Message-ID of the reply that bounced. */
  platformMessageId: string;
  /** The conversation it belongs to, read from that Message-ID. */
  threadKey: string;
  error: string;
}

const MAX_ERROR_CHARS = 500;

export function bounceOf(mail: ParsedMail): Bounce | undefined {
  const type = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  if (type?.value?.toLowerCase() !== 'multipart/report' || type.params?.['report-type']?.toLowerCase() !== 'delivery-status') return undefined;
  // The bounced mail comes back whole (message/rfc822) or as its headers (text/rfc822-headers).
  const original = mail.attachments.find((a) => /^(message\/rfc822|text\/rfc822-headers|message\/global-headers|message\/global)$/i.test(a.contentType));
  const id = original && /^message-id:[ \t]*(<[^>\r\n]+>)/im.exec(original.content.subarray(0, 64 * 1024).toString('utf8'))?.[1];
  const platformMessageId = bareMessageId(id);
  const threadKey = platformMessageId ? threadKeyInOwnId(platformMessageId) : undefined;
  if (!threadKey) return undefined;
  // mailparser folds the message/delivery-status part into the text: its fields are lines of their own.
  const report = unfold(mail.text ?? '');
  if (!/^action:[ \t]*failed\b/im.test(report)) return undefined;
  const diagnostic = /^diagnostic-code:[ \t]*(?:[\w-]+;[ \t]*)?(.+)$/im.exec(report)?.[1];
  const status = /^status:[ \t]*([245]\.\d{1,3}\.\d{1,3})/im.exec(report)?.[1];
  const recipient = /^final-recipient:[ \t]*(?:[\w-]+;[ \t]*)?(.+)$/im.exec(report)?.[1];
  const why = diagnostic ?? (status ? `status ${status}` : 'no reason given');
  return { platformMessageId, threadKey, error: `the mail bounced${recipient ? ` (${recipient.trim()})` : ''}: ${why.trim()}`.slice(0, MAX_ERROR_CHARS) };
}

/** Header-style continuation lines joined to the line they continue (RFC 5322 §2.2.3). */
const unfold = (text: string) => text.replace(/\r?\n[ \t]+/g, ' ');
