import { simpleParser } from 'mailparser';
import { PlatformError } from '../platform-error';
import type { Attachment, MediaDownload } from '../types';
import type { EmailConfig } from './config';
import { withImap } from './imap';
import { attachedFiles, MAX_MAIL_BYTES } from './parse';
import { bareMessageId } from './threading';
import type { MailServerPolicy } from './mail-server';

/**
 * An attachment's bytes, read again from the mail in the channel's mailbox (found by its
 * Message-ID), as WhatsApp media is fetched from Meta: PingBack keeps where a file is, not
 * the file. Mail that comes by webhook has its files kept by PingBack instead (the inbox
 * serves those itself); only mail from before PingBack kept them ends up here.
 */
export async function fetchEmailAttachment(cfg: EmailConfig, attachment: Attachment, policy: MailServerPolicy): Promise<MediaDownload> {
  const inbound = cfg.inbound;
  const messageId = attachment.platformFileId;
  const index = attachment.index;
  if (!messageId || typeof index !== 'number') throw new PlatformError('rejected', 'this attachment does not say which mail it came in');
  if (messageId.startsWith('sha256:')) throw new PlatformError('rejected', 'the mail had no Message-ID, so it cannot be found in the mailbox again');
  if (inbound.method !== 'imap') {
    throw new PlatformError('rejected', 'this mail came by webhook before PingBack kept the files of such mail, and there is no mailbox to read them from');
  }
  const source = await withImap(inbound, policy, async (client) => {
    await client.mailboxOpen(inbound.mailbox, { readOnly: true });
    const uids = await client.search({ header: { 'message-id': messageId } }, { uid: true });
    if (!uids) throw new PlatformError('unavailable', 'the IMAP server refused to search the mailbox');
    for (const uid of uids) {
      // SEARCH HEADER matches substrings (RFC 3501 §6.4.4): only the mail whose Message-ID is exactly this one.
      const mail = await client.fetchOne(String(uid), { uid: true, envelope: true, source: { maxLength: MAX_MAIL_BYTES } }, { uid: true });
      if (mail && mail.source && bareMessageId(mail.envelope?.messageId) === messageId) return mail.source;
    }
    return undefined;
  });
  if (!source) throw new PlatformError('rejected', 'the mail is no longer in the mailbox (moved or deleted)');
  const file = attachedFiles(await simpleParser(source))[index];
  if (!file) throw new PlatformError('rejected', 'the mail in the mailbox has no such attachment');
  const bytes: Uint8Array = file.content;
  return {
    body: new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    }),
    contentType: file.contentType,
    contentLength: bytes.byteLength,
  };
}
