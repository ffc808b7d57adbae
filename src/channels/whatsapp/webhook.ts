import { z } from 'zod';
import type { Attachment, InboundMessage } from '../types';
import { describeMetaError } from '../meta/errors';
import { metaTimestamp, MetaWebhookEvent } from '../meta/events';
import { parseItem } from '../meta/parse';

/**
 * WhatsApp Cloud API webhooks (developers.facebook.com/documentation/business-messaging/whatsapp/
 * webhooks/reference/messages). Arrays everywhere: one POST may carry many entries, changes,
 * messages and statuses. Unknown fields pass through: Meta adds fields (user_id, url on media) often.
 * The envelope is checked as a whole; what it carries, item by item (see parseItem).
 */
export const whatsappEnvelope = z.looseObject({
  object: z.literal('whatsapp_business_account'),
  entry: z.array(z.looseObject({ id: z.string(), changes: z.array(z.looseObject({ field: z.string(), value: z.unknown() })) })),
});
export type WhatsappEnvelope = z.infer<typeof whatsappEnvelope>;

const timestamp = z.union([z.string(), z.number()]);
const media = z.looseObject({
  id: z.string().min(1),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  caption: z.string().optional(),
  filename: z.string().optional(),
  url: z.string().optional(),
  voice: z.boolean().optional(),
  animated: z.boolean().optional(),
});
const errorEntry = z.looseObject({ code: z.number().optional(), title: z.string().optional(), message: z.string().optional() });

const message = z
  .looseObject({
    from: z.string().min(1).optional(),
    /** Business-scoped user id; newer payloads may carry it instead of a phone number. */
    from_user_id: z.string().min(1).optional(),
    id: z.string().min(1),
    timestamp,
    type: z.string(),
    context: z.looseObject({ id: z.string().optional(), from: z.string().optional(), forwarded: z.boolean().optional() }).optional(),
    text: z.looseObject({ body: z.string() }).optional(),
    image: media.optional(),
    video: media.optional(),
    audio: media.optional(),
    document: media.optional(),
    sticker: media.optional(),
    location: z
      .looseObject({ latitude: z.number(), longitude: z.number(), name: z.string().optional(), address: z.string().optional(), url: z.string().optional() })
      .optional(),
    contacts: z.array(z.looseObject({ name: z.looseObject({ formatted_name: z.string().optional() }).optional() })).optional(),
    reaction: z.looseObject({ message_id: z.string(), emoji: z.string().optional() }).optional(),
    interactive: z
      .looseObject({
        type: z.string(),
        button_reply: z.looseObject({ id: z.string(), title: z.string() }).optional(),
        list_reply: z.looseObject({ id: z.string(), title: z.string(), description: z.string().optional() }).optional(),
      })
      .optional(),
    button: z.looseObject({ text: z.string(), payload: z.string().optional() }).optional(),
    unsupported: z.looseObject({ type: z.string().optional() }).optional(),
    errors: z.array(errorEntry).optional(),
  })
  .refine((m) => m.from || m.from_user_id, { message: 'a message needs from or from_user_id', path: ['from'] });
type WaMessage = z.infer<typeof message>;

const status = z.looseObject({
  id: z.string().min(1),
  status: z.string(),
  timestamp,
  recipient_id: z.string().optional(),
  errors: z.array(errorEntry).optional(),
});

const contact = z.looseObject({ wa_id: z.string().optional(), user_id: z.string().optional(), profile: z.looseObject({ name: z.string().optional() }).optional() });
type Contact = z.infer<typeof contact>;

// Contacts only name the senders, and errors are kept as sent: neither may cost the messages beside them.
const messagesValue = z.looseObject({
  metadata: z.looseObject({ phone_number_id: z.string().min(1), display_phone_number: z.string().optional() }),
  contacts: z.array(z.unknown()).optional(),
  messages: z.array(z.unknown()).optional(),
  statuses: z.array(z.unknown()).optional(),
  errors: z.array(z.unknown()).optional(),
});

const STATUSES = new Set(['sent', 'delivered', 'read', 'failed']);

/** A WhatsApp webhook POST → one event per message, status, unhandled and unreadable part, in payload order. */
export function whatsappEvents(env: WhatsappEnvelope): MetaWebhookEvent[] {
  const events: MetaWebhookEvent[] = [];
  env.entry.forEach((entry, e) =>
    entry.changes.forEach((change, c) => {
      const at = ['entry', e, 'changes', c, 'value'];
      if (change.field !== 'messages') {
        // Template, quality and account updates: not conversation traffic.
        events.push({ kind: 'ignored', owner: entry.id, reason: `field_not_handled:${change.field}`, payload: change });
        return;
      }
      const value = parseItem(messagesValue, change.value, at, entry.id, events);
      if (!value) return;
      const owner = value.metadata.phone_number_id;
      const contacts = (value.contacts ?? []).flatMap((c): Contact[] => {
        const r = contact.safeParse(c);
        return r.success ? [r.data] : [];
      });
      value.messages?.forEach((raw, i) => {
        const m = parseItem(message, raw, [...at, 'messages', i], owner, events);
        if (m) events.push({ kind: 'message', owner, message: toInbound(m, contacts) });
      });
      value.statuses?.forEach((raw, i) => {
        const s = parseItem(status, raw, [...at, 'statuses', i], owner, events);
        if (!s) return;
        if (!STATUSES.has(s.status) || !s.recipient_id) {
          events.push({ kind: 'ignored', owner, reason: `status_not_handled:${s.status}`, eventId: `${s.id}:${s.status}`, payload: s });
          return;
        }
        const update = {
          platformMessageId: s.id,
          status: s.status as 'sent' | 'delivered' | 'read' | 'failed',
          platformTimestamp: metaTimestamp(s.timestamp),
          ...(s.status === 'failed' ? { error: s.errors?.length ? s.errors.map(describeMetaError).join('; ') : 'Meta reported the message failed' } : {}),
        };
        events.push({ kind: 'status', owner, threadKey: s.recipient_id, update });
      });
      if (value.errors?.length) events.push({ kind: 'ignored', owner, reason: 'platform_error', payload: value.errors });
    }),
  );
  return events;
}

function toInbound(m: WaMessage, contacts: Contact[]): InboundMessage {
  const threadKey = (m.from ?? m.from_user_id)!;
  const profile = contacts.find((c) => (m.from && c.wa_id === m.from) || (m.from_user_id && c.user_id === m.from_user_id));
  const { content, contentType, attachments, metadata } = kindOf(m);
  return {
    platformMessageId: m.id,
    threadKey,
    contact: { platformUserId: threadKey, name: profile?.profile?.name ?? null, username: null },
    content,
    contentType,
    attachments,
    metadata: {
      whatsapp_type: m.type,
      ...(m.context?.id ? { reply_to_message_id: m.context.id } : {}),
      ...(m.context?.forwarded ? { forwarded: true } : {}),
      ...metadata,
    },
    platformTimestamp: metaTimestamp(m.timestamp),
  };
}

type Kind = { content: string; contentType: string; attachments: Attachment[]; metadata?: Record<string, unknown> };

function kindOf(m: WaMessage): Kind {
  switch (m.type) {
    case 'text':
      if (m.text) return { content: m.text.body, contentType: 'text', attachments: [] };
      break;
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const f = m[m.type];
      if (!f) break;
      // Voice notes come as audio with voice:true; they read differently in an inbox.
      const type = m.type === 'audio' && f.voice ? 'voice' : m.type;
      const attachment: Attachment = { type, platformFileId: f.id, mimeType: f.mime_type, fileName: f.filename, caption: f.caption, sha256: f.sha256 };
      if (f.animated !== undefined) attachment.animated = f.animated;
      return { content: f.caption ?? '', contentType: type, attachments: [attachment] };
    }
    case 'location':
      if (m.location) {
        const l = m.location;
        return { content: [l.name, l.address].filter(Boolean).join(', '), contentType: 'location', attachments: [{ type: 'location', ...l }] };
      }
      break;
    case 'contacts':
      if (m.contacts) {
        const names = m.contacts.map((c) => c.name?.formatted_name).filter(Boolean);
        return { content: names.join(', '), contentType: 'contacts', attachments: m.contacts.map((c) => ({ type: 'contact', ...c })) };
      }
      break;
    case 'reaction':
      if (m.reaction) {
        // An empty emoji is the customer taking their reaction back.
        const emoji = m.reaction.emoji ?? '';
        return { content: emoji, contentType: 'reaction', attachments: [], metadata: { reacted_to_message_id: m.reaction.message_id, reaction_removed: emoji === '' } };
      }
      break;
    case 'interactive': {
      const reply = m.interactive?.button_reply ?? m.interactive?.list_reply;
      if (reply) {
        const description = m.interactive?.list_reply?.description;
        return {
          content: reply.title,
          contentType: m.interactive!.list_reply ? 'list_reply' : 'button_reply',
          attachments: [],
          metadata: { reply_id: reply.id, ...(description ? { reply_description: description } : {}) },
        };
      }
      break;
    }
    case 'button':
      // A quick-reply button of a template message.
      if (m.button) return { content: m.button.text, contentType: 'button_reply', attachments: [], metadata: { reply_payload: m.button.payload } };
      break;
  }
  // Kept, never dropped: the inbox shows it as unsupported, with what Meta said about it.
  return {
    content: '',
    contentType: 'unsupported',
    attachments: [],
    metadata: {
      ...(m.unsupported?.type ? { unsupported_type: m.unsupported.type } : {}),
      ...(m.errors?.length ? { platform_errors: m.errors.map(describeMetaError) } : {}),
    },
  };
}
