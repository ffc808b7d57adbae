/**
 * What a customer can send through the Meta fake, as the message objects Meta puts in
 * webhooks: WhatsApp `messages[]` (message-*.json) and Instagram `messaging[]` events
 * (instagram/*.json). Media is handed to the fake's store, which gives back an id or URL.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { WaBusinessNumber } from './meta-payloads';

export const WA_KINDS = [
  'text', 'image', 'video', 'audio', 'voice', 'document', 'sticker', 'location', 'contacts',
  'reaction', 'button_reply', 'list_reply', 'quick_reply', 'unsupported',
] as const;
export type WaKind = (typeof WA_KINDS)[number];

export interface WaCustomerMessage {
  /** The customer's wa_id (their phone number, digits only). */
  from: string;
  /** Their WhatsApp profile name, as `contacts[].profile.name`. */
  name?: string;
  kind?: WaKind;
  /** Text body; caption of media; title of a button or list reply. */
  text?: string;
  fileName?: string;
  mimeType?: string;
  bytes?: Buffer;
  /** The wamid the customer quoted (or whose button they pressed): `context.id`. */
  replyTo?: string;
  /** The wamid a reaction is for; `emoji: ''` takes the reaction back. */
  reactTo?: string;
  emoji?: string;
  /** A fixed wamid, to replay the same message. */
  id?: string;
}

const DEFAULT_MIME: Record<string, string> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/ogg; codecs=opus',
  voice: 'audio/ogg; codecs=opus',
  document: 'application/pdf',
  sticker: 'image/webp',
  file: 'application/pdf',
};

export type MediaStore = (bytes: Buffer, mimeType: string) => { id: string; sha256: string; url: string };

const sampleBytes = (kind: string) => Buffer.concat([Buffer.from(`pingback sandbox ${kind} `), randomBytes(32)]);
export const sha256Base64 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('base64');

export function waMessageObject(m: WaCustomerMessage, ctx: { id: string; timestamp: number; business: WaBusinessNumber; store: MediaStore }): object {
  const kind = m.kind ?? 'text';
  const head: Record<string, unknown> = {};
  if (m.replyTo) head.context = { from: ctx.business.displayPhoneNumber, id: m.replyTo };
  Object.assign(head, { from: m.from, id: ctx.id, timestamp: String(ctx.timestamp) });
  const media = (field: string, extra: object): Record<string, any> => {
    const mime = m.mimeType ?? DEFAULT_MIME[kind];
    const stored = ctx.store(m.bytes ?? sampleBytes(kind), mime);
    return { ...head, type: field, [field]: { ...(m.text ? { caption: m.text } : {}), ...extra, mime_type: mime, sha256: stored.sha256, id: stored.id } };
  };
  switch (kind) {
    case 'text':
      return { ...head, text: { body: m.text ?? 'Hello' }, type: 'text' };
    case 'image':
    case 'video':
      return media(kind, {});
    case 'document':
      return media('document', { filename: m.fileName ?? 'document.pdf' });
    case 'audio':
    case 'voice': {
      // Voice notes are audio with voice:true.
      const o = media('audio', {});
      o.audio.voice = kind === 'voice';
      return o;
    }
    case 'sticker': {
      const o = media('sticker', {});
      o.sticker.animated = false;
      return o;
    }
    case 'location':
      return {
        ...head,
        location: {
          latitude: 37.4611978,
          longitude: -122.2164385,
          name: m.text ?? 'Facebook HQ',
          address: '1 Hacker Way, Menlo Park, CA 94025',
          url: 'https://maps.google.com/?cid=2000000000000000000',
        },
        type: 'location',
      };
    case 'contacts': {
      const [first, ...last] = (m.text ?? 'Chandler Bing').split(' ');
      const name = { first_name: first, ...(last.length ? { last_name: last.join(' ') } : {}), formatted_name: m.text ?? 'Chandler Bing' };
      return { ...head, type: 'contacts', contacts: [{ name, phones: [{ phone: '+1 555-555-5555', wa_id: '15555555555', type: 'CELL' }] }] };
    }
    case 'reaction':
      return { ...head, type: 'reaction', reaction: { message_id: m.reactTo ?? 'wamid.unknown', emoji: m.emoji ?? '\u{1F44D}' } };
    case 'button_reply':
      return { ...head, type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'btn_1', title: m.text ?? 'Yes' } } };
    case 'list_reply':
      return { ...head, type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'row_1', title: m.text ?? 'Option', description: 'description' } } };
    case 'quick_reply':
      return { ...head, type: 'button', button: { payload: 'callback_data', text: m.text ?? 'Yes' } };
    case 'unsupported':
      return {
        ...head,
        errors: [{ code: 131051, title: 'Message type unknown', message: 'Message type unknown', error_data: { details: 'Message type is currently not supported.' } }],
        type: 'unsupported',
        unsupported: { type: 'poll' },
      };
  }
}

// ---------------------------------------------------------------------------
// Instagram

export const IG_KINDS = [
  'text', 'image', 'video', 'audio', 'file', 'story_reply', 'story_mention',
  'reaction', 'unreact', 'unsend', 'read', 'echo', 'postback',
] as const;
export type IgKind = (typeof IG_KINDS)[number];

export interface IgCustomerEvent {
  /** The customer's IGSID. */
  from: string;
  kind?: IgKind;
  text?: string;
  /** The mid a reaction, read or unsend is about. */
  target?: string;
  emoji?: string;
  bytes?: Buffer;
  mimeType?: string;
  /** A fixed mid, to replay the same message. */
  mid?: string;
}

/** One `messaging[]` event. Echoes go from the business to the customer; everything else the other way. */
export function igMessagingObject(e: IgCustomerEvent, ctx: { mid: string; timestampMs: number; igAccountId: string; store: MediaStore }): object {
  const kind = e.kind ?? 'text';
  const echo = kind === 'echo';
  const head = {
    sender: { id: echo ? ctx.igAccountId : e.from },
    recipient: { id: echo ? e.from : ctx.igAccountId },
    timestamp: ctx.timestampMs,
  };
  const asset = (type: string) => {
    const { url } = ctx.store(e.bytes ?? sampleBytes(type), e.mimeType ?? DEFAULT_MIME[type] ?? 'image/jpeg');
    return { type, payload: { url } };
  };
  switch (kind) {
    case 'text':
      return { ...head, message: { mid: ctx.mid, text: e.text ?? 'Hello' } };
    case 'echo':
      return { ...head, message: { mid: ctx.mid, text: e.text ?? 'Hello', is_echo: true } };
    case 'image':
    case 'video':
    case 'audio':
    case 'file':
    case 'story_mention':
      return { ...head, message: { mid: ctx.mid, attachments: [asset(kind)] } };
    case 'story_reply': {
      // Story ids are 17-digit media ids, past Number's safe range: built as text.
      const story = { id: `179${Array.from(randomBytes(14), (b) => b % 10).join('')}`, url: asset('image').payload.url };
      return { ...head, message: { mid: ctx.mid, text: e.text ?? 'Love this!', reply_to: { story } } };
    }
    case 'reaction':
      return { ...head, reaction: { mid: e.target ?? ctx.mid, action: 'react', reaction: 'love', emoji: e.emoji ?? '\u2764\uFE0F' } };
    case 'unreact':
      return { ...head, reaction: { mid: e.target ?? ctx.mid, action: 'unreact' } };
    case 'unsend':
      return { ...head, message: { mid: e.target ?? ctx.mid, is_deleted: true } };
    case 'read':
      return { ...head, read: { mid: e.target ?? ctx.mid } };
    case 'postback':
      return { ...head, postback: { mid: ctx.mid, title: e.text ?? 'Get started', payload: 'GET_STARTED' } };
  }
}
