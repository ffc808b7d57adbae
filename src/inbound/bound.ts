import { createHash } from 'node:crypto';
import type { ConversationRef, InboundMessage } from '../channels/types';

/**
 * What a platform sends is bounded before it becomes a signal: a Temporal payload is refused
 * past 2 MB (and warned about past 512 KB), and PostgreSQL's unique indexes take at most
 * 2.7 KB a row, so one oversized field, whoever sent it, would otherwise hold up its
 * conversation or its mailbox for good. Every inbound signal passes through here
 * (src/temporal/conversations.ts).
 */

/** Platform ids are short (a Telegram chat id, a wamid, a Message-ID); a longer one is replaced by its digest, the same every time. */
export const MAX_KEY_CHARS = 512;
const MAX_NAME_CHARS = 256;
export const MAX_CONTENT_CHARS = 100_000;
const MAX_ATTACHMENTS = 20;
/** File names, MIME types, media ids; URLs get more (signed CDN URLs are long). */
const MAX_FIELD_CHARS = 1_024;
const MAX_URL_CHARS = 8_192;
/** Metadata beyond this is cut field by field, and dropped if that is not enough. */
const MAX_METADATA_CHARS = 64 * 1024;
const MAX_METADATA_STRING_CHARS = 4_096;

export function boundKey(key: string): string {
  return key.length <= MAX_KEY_CHARS ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

export function boundRef<R extends Pick<ConversationRef, 'threadKey'>>(ref: R): R {
  return ref.threadKey.length <= MAX_KEY_CHARS ? ref : { ...ref, threadKey: boundKey(ref.threadKey) };
}

const cut = <T extends string | null | undefined>(text: T, max: number): T => (typeof text === 'string' && text.length > max ? (text.slice(0, max) as T) : text);

/** The platform's time as ISO 8601, or none: a malformed one, or a year PostgreSQL cannot store as written, is not worth a message. */
const isoTime = (time: string): string | undefined => {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return undefined;
  const year = new Date(ms).getUTCFullYear();
  return year >= 1 && year <= 9999 ? new Date(ms).toISOString() : undefined;
};

export function boundInbound(m: InboundMessage): InboundMessage {
  const party = <P extends InboundMessage['contact']>(p: P): P => ({ ...p, platformUserId: boundKey(p.platformUserId), name: cut(p.name, MAX_NAME_CHARS), username: cut(p.username, MAX_NAME_CHARS) });
  const truncatedFrom = m.content.length > MAX_CONTENT_CHARS ? { truncated_from_chars: m.content.length } : {};
  return {
    ...m,
    platformMessageId: boundKey(m.platformMessageId),
    threadKey: boundKey(m.threadKey),
    contact: party(m.contact),
    ...(m.sender ? { sender: party(m.sender) } : {}),
    content: m.content.slice(0, MAX_CONTENT_CHARS),
    contentType: cut(m.contentType, MAX_NAME_CHARS)!,
    attachments: m.attachments.slice(0, MAX_ATTACHMENTS).map((a) =>
      Object.fromEntries(Object.entries(a).map(([k, v]) => [k, typeof v === 'string' ? v.slice(0, k === 'url' ? MAX_URL_CHARS : k === 'caption' ? MAX_CONTENT_CHARS / 10 : MAX_FIELD_CHARS) : v])) as typeof a,
    ),
    metadata: { ...boundMetadata(m.metadata), ...truncatedFrom },
    platformTimestamp: m.platformTimestamp === undefined ? undefined : isoTime(m.platformTimestamp),
  };
}

/** Roughly how many characters `value` takes as JSON, counting no further than `limit` (a huge value is not serialised to find out). */
function jsonSizeUpTo(value: unknown, limit: number): number {
  let size = 0;
  const walk = (v: unknown): void => {
    if (size > limit) return;
    if (typeof v === 'string') size += v.length + 2;
    else if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (size += k.length + 4), walk(x);
    else size += 8;
  };
  walk(value);
  return size;
}

function boundMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  if (jsonSizeUpTo(metadata, MAX_METADATA_CHARS) <= MAX_METADATA_CHARS) return metadata;
  const shrink = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return v.slice(0, MAX_METADATA_STRING_CHARS);
    if (depth > 4) return null;
    if (Array.isArray(v)) return v.slice(0, 50).map((x) => shrink(x, depth + 1));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).slice(0, 50).map(([k, x]) => [k.slice(0, 100), shrink(x, depth + 1)]));
    return v;
  };
  const shrunk = shrink(metadata, 0) as Record<string, unknown>;
  return jsonSizeUpTo(shrunk, MAX_METADATA_CHARS) <= MAX_METADATA_CHARS ? { ...shrunk, metadata_cut: true } : { metadata_dropped: true };
}
