import { createHash } from 'node:crypto';
import type { ParsedEmail } from '../channels/email/parse';
import type { InboundMessage } from '../channels/types';
import { recordIgnoredEvents } from '../db/ignored-events';
import type { Db } from '../db/knex';
import { keepArrivedFiles } from '../db/stored-media';
import type { ConversationSignaller } from '../temporal/conversations';
import { conversationRef, type ChannelType } from '../channels/types';

/**
 * Where a mail goes once read, by webhook or from the mailbox alike: a customer's mail to its
 * conversation, a bounce of PingBack's reply to that reply (marked failed), anything else
 * into ignored_events with its reason (headers only), so nobody has to wonder where it went.
 * `keepFiles`: the mail came by webhook, so no mailbox holds its attachments for later; they
 * are stored with the message (before the signal: a provider's retry stores nothing twice).
 */
export async function handOnEmail(
  deps: { db: Db; signaller: ConversationSignaller },
  channel: { id: string; account_id: string; type: ChannelType },
  parsed: ParsedEmail,
  opts: { keepFiles: boolean },
): Promise<{ outcome: 'message' | 'bounce' } | { outcome: 'ignored'; reason: string }> {
  const ref = (threadKey: string) => conversationRef(channel, threadKey);
  if (parsed.kind === 'message') {
    const message = opts.keepFiles ? await withKeptFiles(deps.db, channel.id, parsed) : parsed.message;
    await deps.signaller.inbound(ref(message.threadKey), message);
    return { outcome: 'message' };
  }
  let reason: string;
  if (parsed.kind === 'bounce') {
    const { platformMessageId, threadKey, error } = parsed.bounce;
    const signalled = await deps.signaller.messageStatus(ref(threadKey), { platformMessageId, status: 'failed', error });
    if (signalled === 'signalled') return { outcome: 'bounce' };
    reason = 'unknown_message';
  } else {
    reason = parsed.reason;
  }
  await setEmailAside(deps.db, channel.id, parsed, reason);
  return { outcome: 'ignored', reason };
}

/** A mail acknowledged but not routed: its identifying headers, once per mail and reason. */
export function setEmailAside(db: Db, channelId: string, parsed: ParsedEmail, reason: string): Promise<void> {
  return recordIgnoredEvents(db, [{ channel_id: channelId, reason, platform_event_id: `email:${parsed.summary.message_id}`, payload: parsed.summary }]);
}

async function withKeptFiles(db: Db, channelId: string, parsed: Extract<ParsedEmail, { kind: 'message' }>): Promise<InboundMessage> {
  const { message, files } = parsed;
  // The Message-ID keys the mail (hashed: it can be long); the index, the file within it.
  const mailKey = createHash('sha256').update(message.platformMessageId).digest('hex').slice(0, 32);
  const ids = await keepArrivedFiles(
    db,
    channelId,
    message.contact.platformUserId,
    files.map((f, i) => ({ clientId: `mail:${mailKey}:${i}`, contentType: f.contentType, fileName: f.fileName, bytes: f.content })),
  );
  return { ...message, attachments: message.attachments.map((a, i) => ({ ...a, storedMediaId: ids[i] })) };
}
