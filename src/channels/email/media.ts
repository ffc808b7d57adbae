import { simpleParser } from 'mailparser';
import { PlatformError } from '../platform-error';
import type { Attachment, MediaDownload } from '../types';
import type { EmailConfig } from './config';
import { withImap } from './imap';
import { attachedFiles } from './parse';
import type { TlsTrust } from './tls';

/**
 * An attachment's bytes, read again from the mail in the channel's mailbox (found by its
 * Message-ID), as WhatsApp media is fetched from Meta: PingBack keeps where a file is, not
 * the file. Mail that came by webhook has no mailbox to go back to.
 */
export async function fetchEmailAttachment(cfg: EmailConfig, attachment: Attachment, trust: TlsTrust): Promise<MediaDownload> {
  const inbound = cfg.inbound;
  const messageId = attachment.platformFileId;
  const index = attachment.index;
  if (!messageId || typeof index !== 'number') throw new PlatformError('rejected', 'this attachment does not say which mail it came in');
  if (inbound.method !== 'imap') {
    throw new PlatformError('rejected', 'this mail came by webhook: PingBack keeps no copy of its attachments, and there is no mailbox to read them from');
  }
  const source = await withImap(inbound, trust, async (client) => {
    await client.mailboxOpen(inbound.mailbox, { readOnly: true });
    const uids = (await client.search({ header: { 'message-id': `<${messageId}>` } }, { uid: true })) || [];
    for (const uid of uids) {
      const mail = await client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
      if (mail && mail.source) return mail.source;
    }
    return undefined;
  });
  if (!source) throw new PlatformError('rejected', 'the mail is no longer in the mailbox (moved or deleted)');
  const file = attachedFiles(await simpleParser(source))[index];
  if (!file) throw new PlatformError('rejected', 'the mail in the mailbox has no such attachment');
  const bytes = new Uint8Array(file.content);
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
