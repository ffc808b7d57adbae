import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Attachment, InboundMessage } from '../types';

/**
 * X DMs reach PingBack two ways, and both end in the same InboundMessage, keyed by X's
 * event id, so a DM seen by both (or twice by one) is stored once:
 * - Account Activity webhooks: `direct_message_events[]` of type message_create, with a
 *   `users` map (account-activity-data-objects doc; fixtures shared/…/x/aaa-*.json);
 * - polling GET /2/dm_events: v2 events with `includes.users` / `includes.media`.
 * X also reports the DMs the connected account sent (PingBack's replies among them):
 * those are echoes, recognised by the sender being the account itself.
 */

/** A DM reduced to what both payloads carry. */
interface XDm {
  id: string;
  senderId: string;
  text: string;
  createdAt?: string;
  sender?: { name?: string | null; username?: string | null };
  attachments: Attachment[];
  metadata: Record<string, unknown>;
}

/**
 * X ids (events, users) are 64-bit snowflakes sent as decimal strings. Checked here, at the
 * boundary, because the poller compares them as numbers: one event with a malformed id must
 * be set aside, not make every poll throw.
 */
export const xIdSchema = z.string().regex(/^\d+$/, 'must be a numeric X id');

/** An event PingBack cannot read, kept aside (ignored_events) so the rest of the batch goes on. */
export interface UnreadableXEvent {
  /** A digest of the event: its own id may be what is wrong with it. Stable, so a redelivery records nothing new. */
  key: string;
  event: unknown;
  problem: string;
}

/** What one payload holds: the events read, and those set aside. */
export interface ParsedXEvents {
  events: XEventOutcome[];
  unreadable: UnreadableXEvent[];
}

function unreadable(event: unknown, error: z.ZodError): UnreadableXEvent {
  const key = 'unreadable:' + createHash('sha256').update(JSON.stringify(event) ?? 'undefined').digest('hex').slice(0, 40);
  const problem = error.issues.map((i) => `${i.path.join('.') || '(event)'} ${i.message}`).join('; ');
  return { key, event, problem };
}

/** Each event checked on its own: the readable ones mapped, the others set aside. */
function eachEvent<T>(raw: unknown[], schema: z.ZodType<T>, map: (e: T) => XEventOutcome): ParsedXEvents {
  const out: ParsedXEvents = { events: [], unreadable: [] };
  for (const e of raw) {
    const parsed = schema.safeParse(e);
    if (parsed.success) out.events.push(map(parsed.data));
    else out.unreadable.push(unreadable(e, parsed.error));
  }
  return out;
}

/** `createdAt` (ISO) when X gave one: before the poller has a cursor, it decides what is new. */
export type XEventOutcome =
  | { id: string; createdAt?: string; kind: 'message'; message: InboundMessage }
  | { id: string; createdAt?: string; kind: 'echo' }
  | { id: string; createdAt?: string; kind: 'other'; type: string };

function classify(dm: XDm, selfId: string | null | undefined): XEventOutcome {
  if (selfId && dm.senderId === selfId) return { id: dm.id, createdAt: dm.createdAt, kind: 'echo' };
  const contact = { platformUserId: dm.senderId, name: dm.sender?.name ?? null, username: dm.sender?.username ?? null };
  const media = dm.attachments[0];
  return {
    id: dm.id,
    createdAt: dm.createdAt,
    kind: 'message',
    message: {
      platformMessageId: dm.id,
      // One conversation per customer on the channel: X's one-to-one DM thread with them.
      threadKey: dm.senderId,
      contact,
      content: dm.text,
      contentType: media ? media.type : 'text',
      attachments: dm.attachments,
      metadata: dm.metadata,
      platformTimestamp: dm.createdAt,
    },
  };
}

/** X's media kinds → PingBack's attachment types; the id is X's numeric media id on both paths. */
function attachment(type: string | undefined, id: string | undefined, url: string | undefined): Attachment {
  const kind = type === 'photo' ? 'image' : type === 'video' ? 'video' : type === 'animated_gif' ? 'animated_gif' : 'document';
  return { type: kind, ...(id ? { platformFileId: id } : {}), ...(url ? { url } : {}) };
}

/** Epoch ms as X sends them (a string); nothing for what no Date can hold. */
const isoFromMs = (ms: string | undefined) => (ms && /^\d{1,16}$/.test(ms) && Number(ms) <= 8.64e15 ? new Date(Number(ms)).toISOString() : undefined);

// --- Account Activity (webhook) ------------------------------------------------------

const aaaUser = z.looseObject({ id: z.string().optional(), name: z.string().optional(), screen_name: z.string().optional() });
const aaaDmEvent = z.looseObject({
  type: z.string(),
  id: xIdSchema,
  created_timestamp: z.string().optional(),
  message_create: z
    .looseObject({
      target: z.looseObject({ recipient_id: xIdSchema }).optional(),
      // The conversation's thread key, and whom a reply goes to.
      sender_id: xIdSchema,
      source_app_id: z.string().optional(),
      message_data: z.looseObject({
        text: z.string().default(''),
        attachment: z
          .looseObject({
            type: z.string(),
            media: z.looseObject({ id_str: z.string().optional(), media_url_https: z.string().optional(), type: z.string().optional() }).optional(),
          })
          .optional(),
      }),
    })
    .optional(),
});

export const accountActivitySchema = z.looseObject({
  /** The subscribed account: the connected X account this delivery is for. */
  for_user_id: xIdSchema,
  /** Checked one by one in parseAccountActivity: one unreadable event does not refuse the others. */
  direct_message_events: z.array(z.unknown()).optional(),
  users: z.record(z.string(), aaaUser).optional(),
});
export type AccountActivityPayload = z.infer<typeof accountActivitySchema>;

/** Every DM event of a delivery, classified; other event kinds (follows, typing, reads) yield nothing. */
export function parseAccountActivity(payload: AccountActivityPayload): ParsedXEvents {
  return eachEvent(payload.direct_message_events ?? [], aaaDmEvent, (e): XEventOutcome => {
    const mc = e.message_create;
    if (e.type !== 'message_create' || !mc) return { id: e.id, createdAt: isoFromMs(e.created_timestamp), kind: 'other', type: e.type };
    const user = payload.users?.[mc.sender_id];
    const media = mc.message_data.attachment?.media;
    return classify(
      {
        id: e.id,
        senderId: mc.sender_id,
        text: mc.message_data.text,
        createdAt: isoFromMs(e.created_timestamp),
        sender: user ? { name: user.name, username: user.screen_name } : undefined,
        attachments: media ? [attachment(media.type, media.id_str, media.media_url_https)] : [],
        metadata: {},
      },
      payload.for_user_id,
    );
  });
}

/** The kinds of events a delivery carries besides DMs (`follow_events`, …), for the log. */
export function otherEventKinds(payload: Record<string, unknown>): string[] {
  return Object.keys(payload).filter((k) => k.endsWith('_events') && k !== 'direct_message_events');
}

// --- GET /2/dm_events (polling) -------------------------------------------------------

const v2Event = z.looseObject({
  id: xIdSchema,
  event_type: z.string(),
  text: z.string().optional(),
  sender_id: xIdSchema.optional(),
  dm_conversation_id: z.string().optional(),
  created_at: z.string().optional(),
  attachments: z.looseObject({ media_keys: z.array(z.string()).optional() }).optional(),
});

export const dmEventsPageSchema = z.looseObject({
  /** Absent when the page is empty (result_count 0). Newest first. Checked one by one in parseDmEventsPage. */
  data: z.array(z.unknown()).optional(),
  includes: z
    .looseObject({
      users: z.array(z.looseObject({ id: z.string(), name: z.string().optional(), username: z.string().optional() })).optional(),
      media: z
        .array(z.looseObject({ media_key: z.string(), type: z.string().optional(), url: z.string().optional(), preview_image_url: z.string().optional() }))
        .optional(),
    })
    .optional(),
  meta: z.looseObject({ result_count: z.number().optional(), next_token: z.string().optional() }).optional(),
});
export type DmEventsPage = z.infer<typeof dmEventsPageSchema>;

/** What the poller asks for: enough to build the same message the webhook gives. */
export const DM_EVENTS_QUERY = {
  'dm_event.fields': 'id,text,event_type,created_at,dm_conversation_id,sender_id,participant_ids,attachments',
  event_types: 'MessageCreate',
  expansions: 'sender_id,attachments.media_keys',
  'user.fields': 'name,username',
  'media.fields': 'media_key,type,url,preview_image_url',
} as const;

/** A page's events, newest first as X returns them, classified against the connected account. */
export function parseDmEventsPage(page: DmEventsPage, selfId: string): ParsedXEvents {
  const users = new Map((page.includes?.users ?? []).map((u) => [u.id, u]));
  const media = new Map((page.includes?.media ?? []).map((m) => [m.media_key, m]));
  return eachEvent(page.data ?? [], v2Event, (e): XEventOutcome => {
    const createdAt = e.created_at && !Number.isNaN(Date.parse(e.created_at)) ? new Date(e.created_at).toISOString() : undefined;
    if (e.event_type !== 'MessageCreate' || !e.sender_id) return { id: e.id, createdAt, kind: 'other', type: e.event_type };
    // One-to-one conversation ids are "<user id>-<user id>"; a group's is a single id, and a
    // reply through /dm_conversations/with/:participant_id would leave the group.
    if (e.dm_conversation_id && !e.dm_conversation_id.includes('-')) return { id: e.id, createdAt, kind: 'other', type: 'group_message' };
    const user = users.get(e.sender_id);
    return classify(
      {
        id: e.id,
        senderId: e.sender_id,
        text: e.text ?? '',
        createdAt,
        sender: user ? { name: user.name, username: user.username } : undefined,
        attachments: (e.attachments?.media_keys ?? []).map((key) => {
          const m = media.get(key);
          // media_key is "<kind>_<media id>"; the id part is what Account Activity calls id_str.
          return attachment(m?.type, key.split('_').pop(), m?.url ?? m?.preview_image_url);
        }),
        metadata: e.dm_conversation_id ? { dm_conversation_id: e.dm_conversation_id } : {},
      },
      selfId,
    );
  });
}

/** X ids are 64-bit snowflakes, ordered by time; as strings they must be compared as numbers. Only for ids checked by xIdSchema. */
export function compareXIds(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
