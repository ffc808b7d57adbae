import { z } from 'zod';
import type { Attachment, InboundMessage } from '../types';
import { metaTimestamp, MetaWebhookEvent } from '../meta/events';
import { parseItem } from '../meta/parse';

/**
 * Instagram messaging webhooks (developers.facebook.com/documentation/instagram-platform/webhooks/examples):
 * `entry[].id` is the Instagram professional account, `messaging[]` events carry the customer's
 * Instagram-scoped id (IGSID) as `sender.id`. `object` is optional: the App Dashboard's "Test"
 * sample comes without it. The envelope is checked as a whole; each messaging event on its own (see parseItem).
 */
const timestamp = z.union([z.string(), z.number()]);
export const instagramEnvelope = z.looseObject({
  object: z.literal('instagram').optional(),
  entry: z.array(
    z.looseObject({ id: z.string(), time: timestamp.optional(), messaging: z.array(z.unknown()).optional(), changes: z.array(z.unknown()).optional() }),
  ),
});

const attachment = z.looseObject({ type: z.string(), payload: z.looseObject({ url: z.string().optional(), title: z.string().optional() }).nullish() });
const event = z.looseObject({
  sender: z.looseObject({ id: z.string().min(1) }),
  recipient: z.looseObject({ id: z.string().min(1) }),
  timestamp,
  message: z
    .looseObject({
      mid: z.string().min(1),
      text: z.string().optional(),
      is_echo: z.boolean().optional(),
      is_deleted: z.boolean().optional(),
      is_unsupported: z.boolean().optional(),
      attachments: z.array(attachment).optional(),
      reply_to: z.looseObject({ mid: z.string().optional(), story: z.looseObject({ id: z.string(), url: z.string().optional() }).optional() }).optional(),
      quick_reply: z.looseObject({ payload: z.string() }).optional(),
    })
    .optional(),
  reaction: z.looseObject({ mid: z.string().min(1), action: z.string(), reaction: z.string().optional(), emoji: z.string().optional() }).optional(),
  // Messenger-style reads carry only a watermark; they name no message PingBack can mark.
  read: z.looseObject({ mid: z.string().min(1).optional(), watermark: z.number().optional() }).optional(),
  postback: z.looseObject({ mid: z.string().optional(), title: z.string().optional(), payload: z.string().optional() }).optional(),
});
type IgEvent = z.infer<typeof event>;
export type InstagramEnvelope = z.infer<typeof instagramEnvelope>;

/** An Instagram webhook POST → one event per messaging item (readable or not) and change, in payload order. */
export function instagramEvents(env: InstagramEnvelope): MetaWebhookEvent[] {
  const events: MetaWebhookEvent[] = [];
  env.entry.forEach((entry, e) => {
    const owner = entry.id;
    entry.messaging?.forEach((raw, i) => {
      const ev = parseItem(event, raw, ['entry', e, 'messaging', i], owner, events);
      if (ev) events.push(toEvent(owner, ev));
    });
    // Comments and mentions on posts: not direct messages.
    entry.changes?.forEach((change) => events.push({ kind: 'ignored', owner, reason: 'field_not_handled', payload: change }));
  });
  return events;
}

function toEvent(owner: string, ev: IgEvent): MetaWebhookEvent {
  const m = ev.message;
  // The business's own sends come back as echoes: not the customer talking. Kept as ignored_events.
  if (m?.is_echo) return { kind: 'ignored', owner, reason: 'echo', eventId: m.mid, payload: ev };
  if (ev.read?.mid) {
    return { kind: 'status', owner, threadKey: ev.sender.id, update: { platformMessageId: ev.read.mid, status: 'read', platformTimestamp: metaTimestamp(ev.timestamp) } };
  }
  const base = (platformMessageId: string, kind: Omit<InboundMessage, 'platformMessageId' | 'threadKey' | 'contact' | 'platformTimestamp'>): MetaWebhookEvent => ({
    kind: 'message',
    owner,
    message: {
      platformMessageId,
      threadKey: ev.sender.id,
      // Webhooks carry no profile; the name would take a User Profile API call.
      contact: { platformUserId: ev.sender.id, name: null, username: null },
      platformTimestamp: metaTimestamp(ev.timestamp),
      ...kind,
    },
  });
  if (m?.is_deleted) {
    // The customer unsent a message: recorded as its own event, keyed so a redelivery is a no-op.
    return base(`${m.mid}:deleted`, { content: '', contentType: 'unsend', attachments: [], metadata: { deleted_message_id: m.mid } });
  }
  if (m) return base(m.mid, kindOf(m));
  if (ev.reaction) {
    const r = ev.reaction;
    // A reaction has no id of its own; its target, action and time make one that repeats on redelivery.
    return base(`${r.mid}:${r.action}:${ev.sender.id}:${ev.timestamp}`, {
      content: r.action === 'unreact' ? '' : (r.emoji ?? r.reaction ?? ''),
      contentType: 'reaction',
      attachments: [],
      metadata: { reacted_to_message_id: r.mid, reaction: r.reaction, reaction_removed: r.action === 'unreact' },
    });
  }
  if (ev.postback) {
    const p = ev.postback;
    return base(p.mid ?? `postback:${ev.sender.id}:${ev.timestamp}`, {
      content: p.title ?? '',
      contentType: 'button_reply',
      attachments: [],
      metadata: { reply_payload: p.payload },
    });
  }
  return { kind: 'ignored', owner, reason: 'event_not_handled', payload: ev };
}

function kindOf(m: NonNullable<IgEvent['message']>): Omit<InboundMessage, 'platformMessageId' | 'threadKey' | 'contact' | 'platformTimestamp'> {
  const metadata: Record<string, unknown> = {};
  if (m.reply_to?.mid) metadata.reply_to_message_id = m.reply_to.mid;
  if (m.quick_reply) metadata.reply_payload = m.quick_reply.payload;
  const attachments: Attachment[] = (m.attachments ?? []).map((a) => ({
    type: a.type,
    ...(a.payload?.url ? { url: a.payload.url } : {}),
    ...(a.payload?.title ? { title: a.payload.title } : {}),
  }));
  const content = m.text ?? '';
  if (m.reply_to?.story) {
    const s = m.reply_to.story;
    return {
      content,
      contentType: 'story_reply',
      attachments: [{ type: 'story', platformFileId: s.id, ...(s.url ? { url: s.url } : {}) }, ...attachments],
      metadata: { ...metadata, reply_to_story_id: s.id },
    };
  }
  if (m.is_unsupported) return { content, contentType: 'unsupported', attachments, metadata };
  if (attachments.length) return { content, contentType: attachments[0].type, attachments, metadata };
  if (m.quick_reply) return { content, contentType: 'button_reply', attachments, metadata };
  if (m.text !== undefined) return { content, contentType: 'text', attachments, metadata };
  // Kept, never dropped: shown as unsupported.
  return { content: '', contentType: 'unsupported', attachments, metadata };
}
