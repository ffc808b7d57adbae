import { z } from 'zod';

import { CHANNEL_TYPES, type ChannelType } from './names';

export { CHANNEL_TYPES, CHANNEL_DISPLAY_NAMES, type ChannelType } from './names';
export const channelTypeSchema = z.enum(CHANNEL_TYPES);

/**
 * A conversation's identity: the account, the channel (and its type) and the platform's thread.
 * Its workflow id is made from it (src/temporal/ids.ts); everything that signals, starts or
 * stores a conversation takes it whole (conversationRef builds it).
 */
export const conversationRefSchema = z.object({
  accountId: z.uuid(),
  channelId: z.uuid(),
  channelType: channelTypeSchema,
  /** The platform's thread: Telegram chat id, WhatsApp wa_id, IGSID, X user id, an email thread's key. */
  threadKey: z.string().min(1),
});
export type ConversationRef = z.infer<typeof conversationRefSchema>;

/** A conversation's identity from its channel's row and the thread a message came in on. */
export const conversationRef = (channel: { id: string; account_id: string; type: ChannelType }, threadKey: string): ConversationRef =>
  // Checked: rows come from queries typed `any`, and a column left out of a select would make a workflow id of "undefined".
  conversationRefSchema.parse({ accountId: channel.account_id, channelId: channel.id, channelType: channel.type, threadKey });

const partySchema = z.object({
  platformUserId: z.string().min(1),
  name: z.string().nullish(),
  username: z.string().nullish(),
});

export const attachmentSchema = z
  .object({
    type: z.string(), // image, video, audio, voice, document, sticker, location, contact …
    platformFileId: z.string().optional(),
    url: z.string().optional(),
    mimeType: z.string().optional(),
    fileName: z.string().optional(),
    caption: z.string().optional(),
    /** A file PingBack keeps itself (stored_media): a web chat upload, an attachment of mail that came by webhook. */
    storedMediaId: z.uuid().optional(),
  })
  .catchall(z.unknown());
export type Attachment = z.infer<typeof attachmentSchema>;

/**
 * A customer message as every channel's parser hands it to the conversation
 * workflow: the payload of the `inbound` signal.
 */
export const inboundMessageSchema = z.object({
  /** The platform's id for this message; with the conversation it makes redeliveries a no-op. */
  platformMessageId: z.string().min(1),
  /** The platform's thread: one conversation per (channel, threadKey). */
  threadKey: z.string().min(1),
  /** Who the conversation is with (the user in a private chat, the group in a group). */
  contact: partySchema,
  /** Who wrote this message, when it differs from the contact (group chats). */
  sender: partySchema.optional(),
  content: z.string(),
  contentType: z.string().default('text'),
  attachments: z.array(attachmentSchema).default([]),
  metadata: z.record(z.string(), z.unknown()).default({}),
  /** ISO time the platform says the message was sent. */
  platformTimestamp: z.string().optional(),
});
export type InboundMessage = z.infer<typeof inboundMessageSchema>;

/**
 * A platform's delivery report for a message PingBack sent (WhatsApp `statuses[]`,
 * Instagram `read`): the payload of the conversation workflow's `messageStatus` signal.
 */
export const messageStatusUpdateSchema = z.object({
  /** The platform's id of the outbound message (what `send` returned). */
  platformMessageId: z.string().min(1),
  status: z.enum(['sent', 'delivered', 'read', 'failed']),
  /** ISO time the platform says the status changed. */
  platformTimestamp: z.string().optional(),
  /** For `failed`: the platform's reason, in its own words. */
  error: z.string().optional(),
});
export type MessageStatusUpdate = z.infer<typeof messageStatusUpdateSchema>;

/** Media a platform holds for an inbound attachment, streamed to the agent on demand. */
export interface MediaDownload {
  body: ReadableStream<Uint8Array>;
  contentType: string;
  contentLength?: number;
}

export interface Recipient {
  threadKey: string;
  platformUserId: string;
}

export interface OutboundMessage {
  /** PingBack's id of the reply: the same on every attempt, for platforms that can use it to recognise a resend (email's Message-ID). */
  id: string;
  content: string;
  replyToPlatformMessageId?: string | null;
  /**
   * For adapters with `threadsReplies`: the customer message this answers (the one the agent
   * picked, else the conversation's latest inbound), whose subject and Message-ID chain email
   * needs to thread the reply.
   */
  inReplyTo?: { platformMessageId: string; metadata: Record<string, unknown> } | null;
}

export interface SentRef {
  platformMessageId: string;
}

/** Deployment settings an adapter needs besides the channel's own config. */
export interface AdapterContext {
  telegramApiBaseUrl: string;
  metaGraphBaseUrl: string;
  metaGraphVersion: string;
  xApiBaseUrl: string;
  /** Extra CA certificates (PEM) trusted for channels' own mail servers (EMAIL_TLS_CA_FILE). */
  emailTlsCa?: string;
}

/**
 * One per channel type. `send` throws a `PlatformError` that says whether a
 * retry can help; nothing outside the adapter interprets platform status codes.
 */
export interface ChannelAdapter<Config = unknown> {
  type: ChannelType;
  /** Validates what the user pastes in when connecting a channel of this type. */
  config: z.ZodType<Config>;
  /**
   * Config values that are credentials, as dotted paths into the config
   * (`'bot_token'`, `'smtp.password'`): never shown whole, never logged.
   * A path that is absent in a given config (a branch of a union) is skipped.
   */
  secretFields: readonly string[];
  /**
   * How a channel of this type gets connected: PingBack registers its webhook
   * through the platform's API (`api`, with registerWebhook), the user pastes the
   * callback URL and verify token into the platform's console (`console`), or
   * there is no platform to connect to (`none`, the web widget).
   */
  setup: 'api' | 'console' | 'none';
  /** One line for the channel's settings: what to do on the platform's side, where to paste what. */
  instructions: string;
  send(cfg: Config, to: Recipient, msg: OutboundMessage, ctx: AdapterContext): Promise<SentRef>;
  /** `send` needs `msg.inReplyTo` (email): it costs a query per reply, so only adapters that say so get it. */
  threadsReplies?: boolean;
  /** Replies may carry files the agent uploaded (kept by PingBack, src/db/stored-media.ts). */
  repliesWithFiles?: boolean;
  /** Checks credentials and points the platform's webhook at PingBack (platforms that allow it). */
  registerWebhook?(cfg: Config, hook: { url: string; secret: string }, ctx: AdapterContext): Promise<{ account?: string }>;
  unregisterWebhook?(cfg: Config, ctx: AdapterContext): Promise<void>;
  /**
   * Checks the credentials and says whose platform account they act for (X: GET /2/users/me),
   * for platforms with no webhook to register. The channel setup workflow calls it.
   */
  checkCredentials?(cfg: Config, ctx: AdapterContext): Promise<{ platformAccountId: string; account: string }>;
  /** True when this config gets inbound messages by polling (X's `inbound: "polling"`): a poller workflow runs while the channel is active. */
  pollsInbound?(cfg: Config): boolean;
  /** Fetches an inbound attachment's media from the platform (attachments keep the platform's media id or URL, not the bytes). */
  fetchMedia?(cfg: Config, attachment: Attachment, ctx: AdapterContext): Promise<MediaDownload>;
}
