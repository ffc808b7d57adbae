import type { InboundEvent } from '../types';
import type { ParsedEmail } from './parse';

/**
 * What a mail is to the inbox, by webhook or from the mailbox alike: a customer's mail a
 * message, a bounce of PingBack's reply a `failed` status for that reply, anything else set
 * aside with its reason (headers only). `keepFiles`: the mail came by webhook, so no mailbox
 * holds its attachments for later; they are stored with the message.
 */
export function emailEvent(parsed: ParsedEmail, opts: { keepFiles: boolean }): InboundEvent {
  const eventId = `email:${parsed.summary.message_id}`;
  if (parsed.kind === 'message') return { kind: 'message', message: parsed.message, ...(opts.keepFiles ? { files: parsed.files } : {}) };
  if (parsed.kind === 'bounce') {
    const { platformMessageId, threadKey, error } = parsed.bounce;
    return { kind: 'status', threadKey, update: { platformMessageId, status: 'failed', error }, eventId, payload: parsed.summary };
  }
  return { kind: 'ignored', reason: parsed.reason, eventId, payload: parsed.summary };
}
