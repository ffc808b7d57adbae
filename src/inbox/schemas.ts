import { z } from 'zod';
import { channelTypeSchema } from '../channels/types';
import { CONVERSATION_STATUSES, EVENT_TYPES } from './constants';
import { planSchema } from '../plans';

/**
 * The shapes the inbox API answers with and the event stream carries: one source for the
 * server's presenters, the OpenAPI description and the dashboard's types. Nothing here
 * imports server code, so the dashboard can import it too.
 */

export { CONVERSATION_STATUSES, EVENT_TYPES } from './constants';
export const conversationStatusSchema = z.enum(CONVERSATION_STATUSES);
export type ConversationStatus = z.infer<typeof conversationStatusSchema>;

/** Why an agent cannot reply in a conversation now (more reasons come with later channel rules). */
/**
 * channel_inactive: the channel is off. reconnect_required: its platform refuses its credentials;
 * replies are still taken and wait (waiting_for_channel) until it is reconnected. outside_messaging_window: WhatsApp's 24 hours since the
 * customer last wrote have passed; only a template can be sent (POST …/messages with `template`).
 */
export const replyBlockedReasonSchema = z.enum(['channel_inactive', 'reconnect_required', 'outside_messaging_window']);

const timestamp = z.string().describe('ISO 8601 time');
const personSchema = z.object({ id: z.uuid(), name: z.string() });

/** Who wrote a reply or a note, or made a change: a signed-in user or an integration's API key. */
export const authorSchema = z.object({ type: z.enum(['user', 'api_key']), id: z.uuid(), name: z.string() });
export type Author = z.infer<typeof authorSchema>;

export const conversationItemSchema = z.object({
  id: z.uuid(),
  channel: z.object({ id: z.uuid(), type: channelTypeSchema, name: z.string() }),
  channel_id: z.uuid(),
  channel_type: channelTypeSchema,
  contact: z.object({
    id: z.uuid(),
    name: z.string().nullable(),
    /** What the customer is reached at on the platform: a username, an address, a number. */
    handle: z.string(),
    platform_user_id: z.string(),
    username: z.string().nullable(),
  }),
  status: conversationStatusSchema,
  snoozed_until: timestamp.nullable(),
  assignee: personSchema.nullable(),
  last_message: z
    .object({ direction: z.enum(['inbound', 'outbound']), preview: z.string(), created_at: timestamp })
    .nullable(),
  /** Customer messages after the requesting user's read marker (at most 100); null for API keys, and in events. */
  unread_count: z.number().int().nullable(),
  can_reply: z.boolean(),
  reply_blocked_reason: replyBlockedReasonSchema.nullable(),
  last_message_at: timestamp,
  /** WhatsApp: when free-form replies stop being possible (24 h after the customer's last message); null on other channels. */
  window_closes_at: timestamp.nullable(),
  created_at: timestamp,
  updated_at: timestamp,
  workflow_id: z.string(),
});
export type ConversationItem = z.infer<typeof conversationItemSchema>;

export const fileSchema = z.object({}).catchall(z.unknown()).describe('an attachment: type, file_name, content_type, size …');

const entryBase = {
  id: z.uuid(),
  conversation_id: z.uuid(),
  /** The timeline's order, shared by every kind of entry. */
  seq: z.number().int(),
  created_at: timestamp,
  updated_at: timestamp,
};

const messageFields = {
  content: z.string(),
  content_type: z.string(),
  attachments: z.array(fileSchema),
  platform_message_id: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
};

export const customerMessageEntrySchema = z.object({
  ...entryBase,
  kind: z.literal('customer_message'),
  direction: z.literal('inbound'),
  status: z.literal('received'),
  ...messageFields,
});

/** waiting_for_channel: written while its channel needs reconnecting; it goes out, in order, once it is reconnected. */
export const replyStatusSchema = z.enum(['pending', 'waiting_for_channel', 'sent', 'delivered', 'read', 'failed']);
export const replyEntrySchema = z.object({
  ...entryBase,
  kind: z.literal('reply'),
  direction: z.literal('outbound'),
  status: replyStatusSchema,
  /** Attempts made so far, and the last attempt's error while retrying (or the reason it failed). */
  attempts: z.number().int(),
  error: z.string().nullable(),
  /** While retrying: when the next try comes. */
  next_attempt_at: timestamp.nullable(),
  sent_at: timestamp.nullable(),
  author: authorSchema.nullable(),
  /** The writer's own id for it, when they gave one: the dashboard matches its optimistic entry by it. */
  client_id: z.string().nullable(),
  ...messageFields,
});

export const noteEntrySchema = z.object({
  ...entryBase,
  kind: z.literal('note'),
  content: z.string(),
  author: authorSchema.nullable(),
  client_id: z.string().nullable(),
});

export const activitySchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('status_changed'),
    from: conversationStatusSchema,
    to: conversationStatusSchema,
    snoozed_until: timestamp.nullable().optional(),
    /** Set when PingBack changed it: the snooze ran out, or the customer wrote. */
    reason: z.enum(['snooze_ended', 'customer_message']).optional(),
  }),
  z.object({ type: z.literal('assignee_changed'), from: personSchema.nullable(), to: personSchema.nullable() }),
]);
export type Activity = z.infer<typeof activitySchema>;

export const activityEntrySchema = z.object({
  ...entryBase,
  kind: z.literal('activity'),
  activity: activitySchema,
  /** Null when PingBack made the change itself. */
  author: authorSchema.nullable(),
});

export const timelineEntrySchema = z.discriminatedUnion('kind', [customerMessageEntrySchema, replyEntrySchema, noteEntrySchema, activityEntrySchema]);
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;

export const ROLES = ['admin', 'agent'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

/** GET /api/me: who is asking, for the dashboard's header and its changes' CSRF token. */
export const meSchema = z.object({
  auth: z.enum(['session', 'api_key']),
  role: roleSchema,
  user: z.object({ id: z.uuid(), email: z.string(), name: z.string(), role: roleSchema }).nullable(),
  api_key: z.object({ id: z.uuid(), name: z.string() }).nullable(),
  csrf_token: z.string().nullable(),
  account: z.object({
    id: z.uuid(),
    name: z.string(),
    plan: planSchema,
    limits: z.object({ max_active_channels: z.number(), channel_types: z.array(channelTypeSchema), max_stored_bytes: z.number() }),
  }),
  /** For admins, where a conversation's workflow opens in the Temporal UI (TEMPORAL_UI_URL). */
  temporal_ui: z.object({ url: z.string(), namespace: z.string() }).nullable(),
});
export type Me = z.infer<typeof meSchema>;

/** What the API shows of a user; never the password hash. */
export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  /** `invited`: the link was not followed yet; `disabled`: signed out and unable to sign in. */
  status: z.enum(['active', 'invited', 'disabled']),
  created_at: timestamp,
});
export type User = z.infer<typeof userSchema>;


/**
 * reconnect_required: the platform stopped taking the channel's credentials (an expired token,
 * a changed password); replies wait until new ones pass its check. error: set up wrong.
 */
export const channelStatusSchema = z.enum(['pending', 'connected', 'error', 'reconnect_required']);
export type ChannelStatus = z.infer<typeof channelStatusSchema>;

/** A channel as agents and the event stream see it: no configuration, no secrets. */
export const channelSummarySchema = z.object({
  id: z.uuid(),
  type: channelTypeSchema,
  name: z.string(),
  is_active: z.boolean(),
  status: channelStatusSchema,
  status_message: z.string().nullable(),
  /** Since when the platform has refused the channel's credentials (status reconnect_required). */
  reconnect_required_at: timestamp.nullable(),
  /** Whether an agent's reply on it can carry files (422 attachments_not_supported otherwise). */
  replies_with_files: z.boolean(),
  updated_at: timestamp,
});
export type ChannelSummary = z.infer<typeof channelSummarySchema>;

export const countsSchema = z.object({
  /** Open conversations assigned to the requesting user (null for API keys). */
  mine: z.number().int().nullable(),
  unassigned: z.number().int(),
  all: z.number().int(),
  by_channel_type: z.record(channelTypeSchema, z.number().int()),
  by_status: z.record(conversationStatusSchema, z.number().int()),
});
export type Counts = z.infer<typeof countsSchema>;

export const eventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof eventTypeSchema>;

/** One event of GET /api/events: the object's snapshot as it is when the event is sent; `id` is its position in the stream. */
export const inboxEventSchema = z.discriminatedUnion('type', [
  z.object({ id: z.string(), type: z.enum(['conversation.created', 'conversation.updated']), created_at: timestamp, data: conversationItemSchema }),
  z.object({ id: z.string(), type: z.enum(['message.created', 'message.updated']), created_at: timestamp, data: timelineEntrySchema }),
  /** A reply Temporal never took, taken back: only its ids. */
  z.object({ id: z.string(), type: z.literal('message.deleted'), created_at: timestamp, data: z.object({ id: z.uuid(), conversation_id: z.uuid() }) }),
  z.object({ id: z.string(), type: z.enum(['channel.created', 'channel.updated']), created_at: timestamp, data: channelSummarySchema }),
]);
export type InboxEvent = z.infer<typeof inboxEventSchema>;
