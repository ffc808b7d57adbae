import type { AdapterContext, InboundEvent } from '../types';
import { authenticateMail, refusedByDmarc, type MailAuth } from './authenticate';
import type { EmailConfig } from './config';
import type { ParsedEmail } from './parse';

/**
 * What a mail is to the inbox, by webhook or from the mailbox alike: a customer's mail a
 * message, a bounce of PingBack's reply a `failed` status for that reply, anything else set
 * aside with its reason (headers only). `keepFiles`: the mail came by webhook, so no mailbox
 * holds its attachments for later; they are stored with the message.
 */
export function emailEvent(parsed: ParsedEmail, opts: { keepFiles: boolean; auth?: MailAuth; refuseDmarcFailures?: boolean }): InboundEvent {
  const eventId = `email:${parsed.summary.message_id}`;
  if (parsed.kind === 'message') {
    const { auth } = opts;
    if (auth && opts.refuseDmarcFailures && refusedByDmarc(auth)) {
      const problem = `${auth.domain ?? 'the sender'}'s DMARC policy (${auth.policy}) says to refuse mail that fails it, and this mail failed it`;
      // No mailbox may hold a copy (mail by webhook): what it said is kept with the reason, for an operator to recover.
      const { content, attachments } = parsed.message;
      const kept = { content: content.slice(0, 2_000), files: attachments.map((a) => a.fileName ?? a.mimeType ?? a.type) };
      return { kind: 'ignored', reason: 'dmarc_fail', eventId, payload: { ...parsed.summary, problem, mail_auth: auth, ...kept } };
    }
    const message = auth ? { ...parsed.message, metadata: { ...parsed.message.metadata, mail_auth: auth } } : parsed.message;
    return { kind: 'message', message, ...(opts.keepFiles ? { files: parsed.files } : {}) };
  }
  if (parsed.kind === 'bounce') {
    const { platformMessageId, threadKey, error } = parsed.bounce;
    return { kind: 'status', threadKey, update: { platformMessageId, status: 'failed', error }, eventId, payload: parsed.summary };
  }
  return { kind: 'ignored', reason: parsed.reason, eventId, payload: parsed.summary };
}

/**
 * emailEvent for a customer's mail whose sender is checked first (SPF, DKIM, DMARC; see
 * ./authenticate.ts): the result is kept on the message, and a channel that refuses DMARC
 * failures sets such mail aside. Mail that is not a customer's message needs no check.
 */
export async function checkedEmailEvent(
  raw: Buffer,
  parsed: ParsedEmail,
  cfg: Pick<EmailConfig, 'refuse_dmarc_failures'>,
  context: Pick<AdapterContext, 'mailAuthResolver'>,
  opts: { keepFiles: boolean },
): Promise<InboundEvent> {
  if (parsed.kind !== 'message') return emailEvent(parsed, opts);
  const auth = await authenticateMail(raw, { resolver: context.mailAuthResolver });
  return emailEvent(parsed, { ...opts, auth, refuseDmarcFailures: cfg.refuse_dmarc_failures === true });
}
