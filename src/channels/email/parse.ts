import { createHash } from 'node:crypto';
import { convert as htmlToText } from 'html-to-text';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { ArrivedFile, Attachment, InboundMessage } from '../types';
import { mediaKind } from '../media-kind';
import { bounceOf, type Bounce } from './bounce';
import { splitQuotedReply } from './quoted-reply';
import { bareMessageId, isOwnMessageId, keepRootAndNewest, threadKeyFor } from './threading';

/**
 * A mail as it arrives (IMAP FETCH BODY[] or a provider's raw-MIME webhook), turned into
 * the InboundMessage every channel hands the conversation workflow, or set aside with a
 * reason. Both inbound paths use this, and the Message-ID keys the message, so a mail seen
 * twice (a webhook retried, a mailbox read again after its UIDVALIDITY changed) is stored once.
 */

/** Providers cap a mail at 25–35 MB; base64 makes attachments a third larger on the wire. */
export const MAX_MAIL_BYTES = 50 * 1024 * 1024;
/** What an agent reads in the inbox; longer mails (newsletters, logs pasted in) are cut, and say so. */
export const MAX_CONTENT_CHARS = 100_000;
const MAX_REFERENCES = 50;
/** Bounds on what goes into the signal (Temporal refuses payloads over 2 MB, and retrying would not help). */
const MAX_SUBJECT_CHARS = 1_000;
const MAX_ATTACHMENTS = 100;
/** HTML is converted only this far: the text kept is at most MAX_CONTENT_CHARS, and markup is most of a mail's bytes. */
const MAX_HTML_CHARS = 20 * MAX_CONTENT_CHARS;

/** `summary`: the headers that identify a mail, what is kept of one set aside. */
export type ParsedEmail = { summary: EmailSummary } & (
  /** `files`: the bytes of `message.attachments`, in the same order. */
  | { kind: 'message'; message: InboundMessage; files: ArrivedFile[] }
  /** A reply PingBack sent could not be delivered. */
  | { kind: 'bounce'; bounce: Bounce }
  | { kind: 'ignored'; reason: IgnoredEmailReason }
);

/**
 * - auto_submitted: vacation replies, bounces of mail PingBack did not send, and other machine mail (RFC 3834 Auto-Submitted,
 *   Precedence bulk/junk/list, delivery reports): answering them starts mail loops;
 * - own_message: a copy of a reply PingBack sent (a provider filing sent mail in the inbox);
 * - no_sender: no From address to answer;
 * - unreadable: the parser gave up on it (kept by the digest of its bytes).
 */
export type IgnoredEmailReason = 'auto_submitted' | 'own_message' | 'no_sender' | 'unreadable' | 'dmarc_fail';

export interface EmailSummary {
  message_id: string;
  from: string | null;
  subject: string | null;
  date: string | null;
  problem?: string;
}

export async function parseEmail(raw: Buffer): Promise<ParsedEmail> {
  const mail = await simpleParser(raw, { skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
  // A mail without a Message-ID (rare, and against RFC 5322's SHOULD) is keyed by its bytes.
  const messageId = bareMessageId(mail.messageId) || digestId(raw);
  const from = mail.from?.value.find((a) => a.address)?.address?.trim();
  const summary: EmailSummary = {
    message_id: messageId,
    from: from ?? null,
    subject: mail.subject?.slice(0, MAX_SUBJECT_CHARS) ?? null,
    date: validDate(mail.date)?.toISOString() ?? null,
  };
  const ignored = (reason: IgnoredEmailReason): ParsedEmail => ({ kind: 'ignored', reason, summary });

  if (isOwnMessageId(messageId)) return ignored('own_message');
  const bounce = bounceOf(mail);
  if (bounce) return { kind: 'bounce', bounce, summary };
  if (isAutomatic(mail)) return ignored('auto_submitted');
  if (!from) return ignored('no_sender');

  const references = keepRootAndNewest(toList(mail.references).map(bareMessageId).filter(Boolean), MAX_REFERENCES);
  const inReplyTo = bareMessageId(toList(mail.inReplyTo)[0]) || undefined;
  // mailparser derives text from an HTML-only body, but not when attachments sit beside it.
  const body = mail.text || (mail.html ? htmlToText(mail.html.slice(0, MAX_HTML_CHARS), { wordwrap: false, selectors: [{ selector: 'img', format: 'skip' }] }) : '');
  const whole = body.replace(/\r\n/g, '\n').trim();
  const { reply: text, quoted } = splitQuotedReply(whole, Boolean(inReplyTo) || references.length > 0);
  const content = text.length > MAX_CONTENT_CHARS ? text.slice(0, MAX_CONTENT_CHARS) : text;
  const name = mail.from?.value.find((a) => a.address)?.name?.trim() || null;

  const files = attachedFiles(mail).slice(0, MAX_ATTACHMENTS);
  return {
    kind: 'message',
    summary,
    files: files.map((a) => ({ content: a.content, contentType: a.contentType, ...(a.filename ? { fileName: a.filename.slice(0, 255) } : {}) })),
    message: {
      platformMessageId: messageId,
      threadKey: threadKeyFor({ messageId, inReplyTo, references }, from),
      contact: { platformUserId: from.toLowerCase(), name },
      content,
      contentType: 'text',
      attachments: attachmentsOf(files, messageId),
      metadata: {
        subject: summary.subject ?? '',
        references,
        ...(inReplyTo ? { in_reply_to: inReplyTo } : {}),
        ...(content.length < text.length ? { truncated_from_chars: text.length } : {}),
        // The thread the customer's client quoted below the answer: the agent has it already, the dashboard may show it on demand.
        ...(quoted ? { quoted_text: quoted.slice(0, MAX_CONTENT_CHARS) } : {}),
      },
      ...(validDate(mail.date) ? { platformTimestamp: validDate(mail.date)!.toISOString() } : {}),
    },
  };
}

/** The key of a mail that has no Message-ID (or could not be read): its bytes' digest, the same each time it is read. */
const digestId = (raw: Buffer) => `sha256:${createHash('sha256').update(raw).digest('hex')}`;

/** A mail the parser gave up on, set aside by its digest so it cannot hold up the mail behind it. */
export function unreadableEmail(raw: Buffer, err: Error): ParsedEmail {
  return { kind: 'ignored', reason: 'unreadable', summary: { message_id: digestId(raw), from: null, subject: null, date: null, problem: err.message.slice(0, 500) } };
}

const validDate = (d: Date | undefined) => (d && !Number.isNaN(d.getTime()) ? d : undefined);
const toList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/));

function header(mail: ParsedMail, name: string): string {
  const v = mail.headers.get(name);
  return typeof v === 'string' ? v.trim().toLowerCase() : '';
}

function isAutomatic(mail: ParsedMail): boolean {
  const auto = header(mail, 'auto-submitted');
  if (auto && auto !== 'no') return true;
  if (['bulk', 'junk', 'list'].includes(header(mail, 'precedence'))) return true;
  // Delivery status notifications (RFC 3464) are multipart/report; so are read receipts (RFC 8098).
  const type = mail.headers.get('content-type') as { value?: string } | undefined;
  return type?.value?.toLowerCase() === 'multipart/report';
}

/** The files a customer attached; images inlined in an HTML body are part of the text, not files. */
export function attachedFiles(mail: ParsedMail) {
  return mail.attachments.filter((a) => !a.related);
}

/**
 * What the mail carried, by name, type and size, and where to find it again: the mail's
 * Message-ID and the file's place among its attachments. Mail read from a mailbox leaves the
 * bytes there (fetched when an agent opens one, src/channels/email/media.ts); mail that came
 * by webhook has its files kept by PingBack (src/inbound/deliver.ts).
 */
function attachmentsOf(files: ParsedMail['attachments'], messageId: string): Attachment[] {
  return files.map((a, index) => ({
    type: mediaKind(a.contentType),
    mimeType: a.contentType,
    ...(a.filename ? { fileName: a.filename.slice(0, 255) } : {}),
    size: a.size,
    platformFileId: messageId,
    index,
  }));
}
