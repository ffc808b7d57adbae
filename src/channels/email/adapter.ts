import { webhookPath, type ChannelAdapter } from '../types';
import { emailAccountId, emailConfigSchema, EmailConfig, EMAIL_SECRET_FIELDS } from './config';
import { emailPoll } from './poll';
import { withImap } from './imap';
import { mailServerPolicy } from './mail-server';
import { fetchEmailAttachment } from './media';
import { withSmtp } from './smtp';
import { emailWebhook } from './webhook';
import { ownMessageId, referencesFor } from './threading';

const MAX_SUBJECT_CHARS = 250;

/**
 * Email: replies go out by SMTP submission; inbound comes by IMAP polling
 * (./poll.ts, driven by workflows/channel-poller.ts) or a provider posting each raw message to the channel's
 * callback URL (./webhook.ts), which the user sets up in the provider: `console`.
 */
export const emailAdapter: ChannelAdapter<EmailConfig> = {
  type: 'email',
  config: emailConfigSchema,
  secretFields: EMAIL_SECRET_FIELDS,
  secretBindings: {
    'smtp.password': ['smtp.host', 'smtp.port', 'smtp.user'],
    'inbound.password': ['inbound.host', 'inbound.port', 'inbound.user'],
  },
  setup: 'console',
  instructions: "With IMAP there is nothing to paste. With a provider's inbound webhook (SendGrid Inbound Parse, a Mailgun route), have it post the raw mail to the callback URL with the verify token as the HTTP Basic password.",
  threadsReplies: true,
  // A mail goes out whole: what the customer's provider takes is the bound (base64 adds a third).
  // 13 MiB of files come to about 19 MB once base64-encoded, under Outlook's 20 MB and Gmail's 25 MB.
  filesOut: { maxFiles: 10, maxFileBytes: 13 * 1024 ** 2, maxTotalBytes: 13 * 1024 ** 2, source: 'Outlook and Gmail take mail up to 20 and 25 MB after base64 encoding: support.google.com/mail/answer/6584' },

  async send(cfg, to, msg, ctx) {
    const parent = msg.inReplyTo;
    const parentSubject = typeof parent?.metadata.subject === 'string' ? parent.metadata.subject : '';
    const parentRefs = Array.isArray(parent?.metadata.references) ? (parent.metadata.references as unknown[]).filter((r): r is string => typeof r === 'string') : [];
    const messageId = ownMessageId(to.threadKey, msg.id, cfg.address, to.platformUserId);
    const references = parent ? referencesFor({ messageId: parent.platformMessageId, references: parentRefs }) : [];
    // One mail: every file at once (13 MiB at most, filesOut).
    const attachments = await Promise.all((msg.files ?? []).map(async (f) => ({ filename: f.fileName, content: await f.load(), contentType: f.contentType })));
    await withSmtp(cfg.smtp, mailServerPolicy(ctx), (transport) =>
      transport.sendMail({
        from: cfg.from_name ? { name: cfg.from_name, address: cfg.address } : cfg.address,
        to: to.platformUserId,
        subject: replySubject(parentSubject),
        text: msg.content,
        messageId: `<${messageId}>`,
        ...(attachments.length ? { attachments } : {}),
        ...(parent ? { inReplyTo: `<${parent.platformMessageId}>`, references: references.map((r) => `<${r}>`) } : {}),
      }),
    );
    return { platformMessageId: messageId };
  },

  async checkCredentials(cfg, ctx) {
    const trust = mailServerPolicy(ctx);
    await withSmtp(cfg.smtp, trust, (transport) => transport.verify());
    const inbound = cfg.inbound;
    if (inbound.method === 'imap') {
      await withImap(inbound, trust, async (client) => {
        // Opened read-only: checking must not clear anyone's \Recent flags.
        await client.mailboxOpen(inbound.mailbox, { readOnly: true });
      });
    }
    return { platformAccountId: emailAccountId(cfg), account: cfg.address };
  },

  callbackPath: webhookPath('email'),
  webhook: emailWebhook,
  poll: emailPoll,

  fetchMedia: (cfg, attachment, ctx) => fetchEmailAttachment(cfg, attachment, mailServerPolicy(ctx)),
};

/** "Re: " once, however many times the thread has gone back and forth ("Re: RE: Aw:" is what clients make of it otherwise). */
export function replySubject(subject: string): string {
  const base = subject.replace(/^(\s*(re|aw|sv|antw)\s*:\s*)+/i, '').trim();
  return `Re: ${base || '(no subject)'}`.slice(0, MAX_SUBJECT_CHARS);
}
