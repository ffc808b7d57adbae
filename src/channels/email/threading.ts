import { createHash } from 'node:crypto';

/**
 * Email has no conversation id, only Message-IDs that point back (In-Reply-To, References,
 * root first: RFC 5322 §3.6.4). A conversation is one thread: its key is derived from the
 * thread's first message, so the ingress and the IMAP poller find the same conversation
 * from the mail alone, with no lookup. Replies PingBack sends carry the key inside their
 * own Message-ID, so a customer's client that keeps only In-Reply-To still threads.
 */

const THREAD_KEY_LENGTH = 22;
const OWN_ID = /^pb\.([A-Za-z0-9_-]{22})\.([0-9a-f-]{36})@/;

/** A Message-ID without its angle brackets and surrounding space; empty when there is none. */
export function bareMessageId(id: string | undefined | null): string {
  return (id ?? '').trim().replace(/^<+/, '').replace(/>+$/, '').trim();
}

export function threadKeyOf(rootMessageId: string): string {
  return createHash('sha256').update(rootMessageId).digest('base64url').slice(0, THREAD_KEY_LENGTH);
}

/** The Message-ID of a reply PingBack sends: stable per reply, so a resend after a timeout is recognisably the same mail. */
export function ownMessageId(threadKey: string, pingbackMessageId: string, address: string): string {
  const domain = address.slice(address.lastIndexOf('@') + 1);
  return `pb.${threadKey}.${pingbackMessageId}@${domain}`;
}

/** The thread key carried in a Message-ID PingBack made, if it is one. */
export function threadKeyInOwnId(messageId: string): string | undefined {
  return OWN_ID.exec(messageId)?.[1];
}

/**
 * The conversation a mail belongs to: a reply to something PingBack sent names it outright;
 * otherwise the thread's root (the first of References, else In-Reply-To), else the mail
 * itself starts a thread.
 */
export function threadKeyFor(mail: { messageId: string; inReplyTo?: string; references: string[] }): string {
  const pointers = [...mail.references, ...(mail.inReplyTo ? [mail.inReplyTo] : [])];
  for (let i = pointers.length - 1; i >= 0; i--) {
    const own = threadKeyInOwnId(pointers[i]);
    if (own) return own;
  }
  return threadKeyOf(pointers[0] ?? mail.messageId);
}

/** References for a reply: the parent's chain and the parent, the newest kept when it grows long (RFC 5322 allows trimming the middle). */
export function referencesFor(parent: { messageId: string; references: string[] }, max = 20): string[] {
  const chain = [...parent.references.filter((r) => r !== parent.messageId), parent.messageId];
  return chain.length <= max ? chain : [chain[0], ...chain.slice(chain.length - (max - 1))];
}
