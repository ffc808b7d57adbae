import { createHash } from 'node:crypto';

/**
 * Email has no conversation id, only Message-IDs that point back (In-Reply-To, References,
 * root first: RFC 5322 §3.6.4). A conversation is one thread with one customer: its key is
 * derived from the thread's first message and the sender's address, so the ingress and the
 * IMAP poller find the same conversation from the mail alone, with no lookup, and two
 * customers answering the same announcement get a conversation each (replies go to the
 * conversation's contact: one shared thread would send B's answer to A). Replies PingBack
 * sends carry the key inside their own Message-ID, with a tag of the customer's address, so
 * a client that keeps only In-Reply-To still threads, and only for that customer.
 */

const THREAD_KEY_LENGTH = 22;
const OWN_ID = /^pb\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{8})\.([0-9a-f-]{36})(?:\.r\d{1,6})?@/;

const digest = (...parts: string[]) => createHash('sha256').update(parts.join('\n')).digest('base64url');
const customerTag = (threadKey: string, customer: string) => digest('customer', threadKey, customer.toLowerCase()).slice(0, 8);

/** A Message-ID without its angle brackets and surrounding space; empty when there is none. */
export function bareMessageId(id: string | undefined | null): string {
  return (id ?? '').trim().replace(/^<+/, '').replace(/>+$/, '').trim();
}

export function threadKeyOf(rootMessageId: string, customer: string): string {
  return digest('thread', rootMessageId, customer.toLowerCase()).slice(0, THREAD_KEY_LENGTH);
}

/**
 * The Message-ID of a reply PingBack sends to `customer`: stable per reply, so a resend after a
 * timeout is recognisably the same mail.
 */
export function ownMessageId(threadKey: string, pingbackMessageId: string, address: string, customer: string): string {
  const domain = address.slice(address.lastIndexOf('@') + 1);
  return `pb.${threadKey}.${customerTag(threadKey, customer)}.${pingbackMessageId}@${domain}`;
}

/** The thread key inside a Message-ID PingBack made, if it is one. */
export function threadKeyInOwnId(messageId: string): string | undefined {
  return OWN_ID.exec(messageId)?.[1];
}

/** Whether a Message-ID is one PingBack made (a copy of its own reply). */
export function isOwnMessageId(messageId: string): boolean {
  return OWN_ID.test(messageId);
}

/**
 * The conversation a mail from `customer` belongs to: a reply to something PingBack sent to
 * that customer names it outright; otherwise the thread's root (the first of References, else
 * In-Reply-To), else the mail itself starts a thread.
 */
export function threadKeyFor(mail: { messageId: string; inReplyTo?: string; references: string[] }, customer: string): string {
  const pointers = [...mail.references, ...(mail.inReplyTo ? [mail.inReplyTo] : [])];
  for (let i = pointers.length - 1; i >= 0; i--) {
    const own = OWN_ID.exec(pointers[i]);
    if (own && own[2] === customerTag(own[1], customer)) return own[1];
  }
  return threadKeyOf(pointers[0] ?? mail.messageId, customer);
}

/** References for a reply: the parent's chain and the parent, the root and the newest kept when it grows long (RFC 5322 allows trimming the middle). */
export function referencesFor(parent: { messageId: string; references: string[] }, max = 20): string[] {
  const chain = [...parent.references.filter((r) => r !== parent.messageId), parent.messageId];
  return keepRootAndNewest(chain, max);
}

/** The root (which keys the thread) and the newest ids of a chain too long to keep whole. */
export function keepRootAndNewest(chain: string[], max: number): string[] {
  return chain.length <= max ? chain : [chain[0], ...chain.slice(chain.length - (max - 1))];
}
