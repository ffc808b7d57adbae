import { z } from 'zod';
import type { Attachment, InboundMessage } from '../types';

/**
 * The parts of a Telegram Update PingBack reads (core.telegram.org/bots/api#update).
 * Unknown fields pass through: Telegram adds fields often and old samples lack new ones
 * (the docs' own webhook sample has no `from.is_bot`).
 */
const user = z.looseObject({
  id: z.number().int(),
  is_bot: z.boolean().optional(),
  first_name: z.string(),
  last_name: z.string().optional(),
  username: z.string().optional(),
});
const chat = z.looseObject({
  id: z.number().int(),
  type: z.enum(['private', 'group', 'supergroup', 'channel']),
  title: z.string().optional(),
  username: z.string().optional(),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
});
const photoSize = z.looseObject({ file_id: z.string(), file_unique_id: z.string(), width: z.number(), height: z.number() });
const file = z.looseObject({
  file_id: z.string(),
  file_unique_id: z.string(),
  mime_type: z.string().optional(),
  file_name: z.string().optional(),
});
const message = z.looseObject({
  message_id: z.number().int(),
  from: user.optional(),
  sender_chat: chat.optional(),
  chat,
  // Unix seconds; bounded to what a Date holds, so a garbled one is a 400, not a failed request.
  date: z.number().int().min(0).max(8.64e12),
  edit_date: z.number().int().optional(),
  text: z.string().optional(),
  caption: z.string().optional(),
  photo: z.array(photoSize).optional(),
  document: file.optional(),
  video: file.optional(),
  audio: file.optional(),
  voice: file.optional(),
  video_note: file.optional(),
  sticker: z.looseObject({ file_id: z.string(), emoji: z.string().optional() }).optional(),
  animation: file.optional(),
  location: z.looseObject({ latitude: z.number(), longitude: z.number() }).optional(),
  contact: z.looseObject({ phone_number: z.string(), first_name: z.string(), last_name: z.string().optional() }).optional(),
  reply_to_message: z.looseObject({ message_id: z.number().int() }).optional(),
});
type TgMessage = z.infer<typeof message>;

export const telegramUpdateSchema = z.looseObject({
  update_id: z.number().int(),
  message: message.optional(),
  edited_message: message.optional(),
  channel_post: message.optional(),
  callback_query: z
    .looseObject({
      id: z.string(),
      from: user,
      message: message.optional(),
      data: z.string().optional(),
      chat_instance: z.string(),
    })
    .optional(),
});
export type TelegramUpdate = z.infer<typeof telegramUpdateSchema>;

/** The update types the ingress turns into messages; setWebhook asks Telegram for exactly these. */
export const HANDLED_UPDATE_TYPES = ['message', 'edited_message', 'callback_query'] as const;

/** Turns an Update into the messages it carries: none for update types PingBack does not handle. */
export function toInboundMessages(update: TelegramUpdate): InboundMessage[] {
  if (update.message) return [fromMessage(update.message)];
  if (update.edited_message) {
    const m = update.edited_message;
    // An edit is a new event in the conversation; its own key keeps a redelivered edit a no-op.
    return [
      {
        ...fromMessage(m),
        platformMessageId: `${m.message_id}:edit:${m.edit_date ?? m.date}`,
        metadata: { edited_message_id: String(m.message_id), update_type: 'edited_message' },
      },
    ];
  }
  if (update.callback_query?.message) {
    const q = update.callback_query;
    const m = q.message!;
    return [
      {
        platformMessageId: `callback:${q.id}`,
        threadKey: String(m.chat.id),
        contact: contactOf(m),
        sender: party(q.from),
        content: q.data ?? '',
        contentType: 'button_reply',
        attachments: [],
        metadata: { update_type: 'callback_query', callback_query_id: q.id, message_id: String(m.message_id) },
        platformTimestamp: new Date(m.date * 1000).toISOString(),
      },
    ];
  }
  return [];
}

function fromMessage(m: TgMessage): InboundMessage {
  const { contentType, attachments } = attachmentsOf(m);
  return {
    platformMessageId: String(m.message_id),
    threadKey: String(m.chat.id),
    contact: contactOf(m),
    sender: m.from ? party(m.from) : undefined,
    content: m.text ?? m.caption ?? '',
    contentType,
    attachments,
    metadata: m.reply_to_message ? { reply_to_message_id: String(m.reply_to_message.message_id) } : {},
    platformTimestamp: new Date(m.date * 1000).toISOString(),
  };
}

function party(u: z.infer<typeof user>) {
  return {
    platformUserId: String(u.id),
    name: [u.first_name, u.last_name].filter(Boolean).join(' '),
    username: u.username ?? null,
  };
}

/** A private chat is with its user; a group or channel is the conversation's party itself. */
function contactOf(m: TgMessage) {
  if (m.chat.type === 'private') {
    return {
      platformUserId: String(m.chat.id),
      name: [m.chat.first_name, m.chat.last_name].filter(Boolean).join(' ') || null,
      username: m.chat.username ?? null,
    };
  }
  return { platformUserId: String(m.chat.id), name: m.chat.title ?? null, username: m.chat.username ?? null };
}

function attachmentsOf(m: TgMessage): { contentType: string; attachments: Attachment[] } {
  const caption = m.caption;
  if (m.photo?.length) {
    // Telegram sends 1–4 sizes of one photo, largest last.
    const largest = m.photo[m.photo.length - 1];
    return {
      contentType: 'image',
      attachments: [{ type: 'image', platformFileId: largest.file_id, width: largest.width, height: largest.height, caption }],
    };
  }
  for (const kind of ['document', 'video', 'audio', 'voice', 'video_note', 'animation'] as const) {
    const f = m[kind];
    if (f) {
      return {
        contentType: kind,
        attachments: [{ type: kind, platformFileId: f.file_id, mimeType: f.mime_type, fileName: f.file_name, caption }],
      };
    }
  }
  if (m.sticker) {
    return { contentType: 'sticker', attachments: [{ type: 'sticker', platformFileId: m.sticker.file_id, emoji: m.sticker.emoji }] };
  }
  if (m.location) {
    return { contentType: 'location', attachments: [{ type: 'location', latitude: m.location.latitude, longitude: m.location.longitude }] };
  }
  if (m.contact) {
    return { contentType: 'contact', attachments: [{ type: 'contact', ...m.contact }] };
  }
  if (m.text !== undefined) return { contentType: 'text', attachments: [] };
  // A service message or a kind PingBack does not know yet: kept, and marked as such.
  return { contentType: 'unsupported', attachments: [] };
}
