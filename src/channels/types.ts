import type { Context } from 'koa';
import type { TemplateSend } from './whatsapp/templates';
import { z } from 'zod';
import type { Db } from '../db/knex';

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

/** The path a platform posts a channel's webhooks to: `/webhooks/<type>/<channel id>` (src/inbound/webhooks.ts). */
export const webhookPath =
  (type: ChannelType) =>
  (channelId: string): string =>
    `/webhooks/${type}/${channelId}`;

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
  /** A WhatsApp template (see whatsapp/templates.ts), sent instead of `content`, which holds its text for the timeline. */
  template?: TemplateSend;
  /** The agent's files, in order, for adapters with `filesOut` (web chat's visitors read them from PingBack instead). */
  files?: OutboundFile[];
  /**
   * A reply the platform takes in several messages (Telegram: a text, then a file each): what
   * earlier attempts already sent, by part ("text", "file:0", …), to be skipped now, and where
   * each part sent is recorded at once, so a retry after a failure part-way sends only the rest.
   */
  parts?: SendProgress;
}

export interface OutboundFile {
  fileName: string;
  contentType: string;
  size: number;
  /** The bytes, read when the adapter sends this file (one at a time: a reply may carry 10 files of 50 MB). */
  load(): Promise<Buffer>;
  /** An expiring link to the file on PingBack, for a platform that fetches files itself (Instagram). */
  link: string;
}

export interface SendProgress {
  /** Platform ids of the parts already sent, by part. */
  done: Readonly<Record<string, string>>;
  record(part: string, platformMessageId: string): Promise<void>;
  /** Throws a retryable PlatformError when the attempt has too little time left for another part: the next attempt goes on from there. */
  beforePart(): void;
}

/**
 * What a platform takes with a reply, from its own documentation (`source`): checked when the
 * reply is written (422 naming the file and the limit), so it is refused then, not after.
 */
export interface FilesOut {
  maxFiles: number;
  /** Bytes of one file. */
  maxFileBytes: number;
  /** Bytes of all the reply's files together (a mail's size limit), when there is such a bound. */
  maxTotalBytes?: number;
  /** Why the platform would not take this file (its type, or its size for that type), if it would not. */
  refuses?(file: { contentType: string; size: number }): string | undefined;
  source: string;
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
  /** Mail servers PingBack may reach although they are not public (EMAIL_ALLOWED_HOSTS; see email/mail-server.ts). */
  emailAllowedHosts?: readonly string[];
  /** Where inbound mail's SPF, DKIM and DMARC checks resolve names (MAIL_AUTH_DNS_SERVERS); the system's resolver when unset. */
  mailAuthResolver?: (name: string, rrtype: string) => Promise<string[][] | string[]>;
}

/** What a platform said of a channel just now (GET /api/channels/:id/health). */
export interface ChannelHealth {
  /** The platform account the credentials act for. */
  account?: string;
  /** Facts the platform reported, as it named them. */
  details: Record<string, unknown>;
  /** What needs someone's attention, in words; none when all is well. */
  problems: string[];
}

/** A file that came with a message and that no platform keeps for PingBack (mail posted to a webhook): stored before the signal. */
export interface ArrivedFile {
  content: Buffer;
  contentType: string;
  fileName?: string;
}

/**
 * What a platform's delivery (a webhook POST, one poll's item) holds, as the inbound
 * module (src/inbound/deliver.ts) routes it. `owner`, where set, is the platform account
 * the event is for (Meta sends one app's webhooks to one URL): checked with `owns`.
 */
export type InboundEvent =
  | { kind: 'message'; message: InboundMessage; owner?: string; files?: ArrivedFile[] }
  /**
   * A delivery report for a message PingBack sent, routed to the conversation with `threadKey`.
   * `eventId` and `payload`: what ignored_events keeps when no conversation has that message.
   */
  | { kind: 'status'; threadKey: string; update: MessageStatusUpdate; owner?: string; eventId?: string; payload?: unknown }
  /**
   * Acknowledged and kept in ignored_events with its reason (a mail loop, an echo, a field PingBack
   * does not handle); `eventId` defaults to a digest of `payload`. `problem`: what made an event
   * unreadable, for the warning someone should act on; such events are kept even when the whole
   * delivery is set aside (its channel is off).
   */
  | { kind: 'ignored'; reason: string; eventId?: string; payload: unknown; problem?: string }
  /** Acknowledged and not kept: echoes of PingBack's own sends, event kinds PingBack does not handle. */
  | { kind: 'skipped'; reason: string };

/** What one webhook POST parsed into. */
export interface ParsedWebhook {
  events: InboundEvent[];
  /** The platform account the whole delivery is for (X's `for_user_id`), checked with `owns`. */
  owner?: string;
  /**
   * What ignored_events keeps when the delivery is set aside whole (its channel is off, or it is
   * another account's): the payload under each of these ids, so a redelivery records nothing new;
   * no ids, under a digest of the body.
   */
  whole: { ids: string[]; payload: unknown };
}

/** What became of a delivery's events: the platform's answer is made from it. */
export interface InboundOutcome {
  messages: number;
  statuses: number;
  /** Reasons of the events kept in ignored_events, one per event. */
  ignored: string[];
  /** Reasons of the events skipped, one per event. */
  skipped: string[];
  /** Why a message's files were not kept (a daily limit, the storage full), one per message that lost them. */
  filesDropped?: string[];
}

/** The channel a webhook names, as its handlers see it. */
export interface WebhookChannel<Config> {
  id: string;
  account_id: string;
  type: ChannelType;
  is_active: boolean;
  /** The secret PingBack gave the platform when it registered the webhook (Telegram's secret_token). */
  webhookSecret: string;
  /** The token the user pastes into the platform's console (Meta's verify token, email's Basic password). */
  verifyToken: string;
  /**
   * The config as stored, credentials opened (on first use: a platform that authenticates by
   * header never decrypts anything for a request that fails). Validated when it was saved;
   * not parsed again here, so the defaults of a later schema are not filled in.
   */
  readonly config: Config;
  /** The platform account the credentials act for, as the setup workflow learned it; 503 while it is not known yet. */
  platformAccountId(): Promise<string>;
  /** The deployment's settings for adapters, as activities get them. */
  context: AdapterContext;
}

export interface WebhookRequest {
  /** A request header, '' when absent. */
  header(name: string): string;
  query: Record<string, string | string[] | undefined>;
  /** The body as the exact bytes sent (signatures are computed over these); read once, bounded. */
  body(): Promise<Buffer>;
}

/**
 * How a platform posts to `/webhooks/<type>/<channel id>` (src/inbound/webhooks.ts). Every
 * refusal is an AppError: 401 for a request that is not the platform's, 400 for a body that
 * is not its payload. Answered 2xx only once Temporal holds every message (the platform
 * retries anything else, and message ids make a redelivery a no-op).
 */
export interface WebhookCapability<Config> {
  /** GET: the platform's check that the URL is ours (Meta's hub.challenge, X's CRC). */
  handshake?(query: WebhookRequest['query'], channel: WebhookChannel<Config>): {
    body: string | Record<string, unknown>;
    /** When set and the channel is active, the channel is marked connected, with this as its status message. */
    connected?: string;
  };
  /** Reads the body when the platform may send more than raw bytes (a mail provider's form). */
  readBody?(ctx: Context): Promise<Buffer>;
  /** Sent with a 401 as WWW-Authenticate (mail providers understand HTTP Basic). */
  wwwAuthenticate?: string;
  /** Throws a 401 unless the request is the platform's: a secret header, a password, a signature over the raw body. */
  verify(req: WebhookRequest, channel: WebhookChannel<Config>): void | Promise<void>;
  parse(raw: Buffer, channel: WebhookChannel<Config>): ParsedWebhook | Promise<ParsedWebhook>;
  /** Whether events for this platform account (an `owner`) are this channel's; without it every event is. */
  owns?(owner: string, channel: WebhookChannel<Config>): boolean | Promise<boolean>;
  /** The ignored_events reason of an event `owns` refuses. */
  foreignReason?: string;
  /** The body of the 200 answer (the platform ignores it; people reading logs and tests do not). */
  answer(outcome: InboundOutcome): Record<string, unknown>;
  /** How the route is described in PingBack's OpenAPI document (src/api/openapi.ts adds the channel id and the error body). */
  docs: { post: WebhookOperationDocs; get?: WebhookOperationDocs };
}

export interface WebhookOperationDocs {
  summary: string;
  /** Query parameters and headers the platform sends, as OpenAPI parameter objects. */
  parameters?: Array<Record<string, unknown>>;
  requestBody?: Record<string, unknown>;
  /** The 200 answer. */
  ok: { description: string; content?: Record<string, unknown> };
  /** The error statuses it answers, each with PingBack's error body. */
  errors: number[];
  /** How the platform authenticates, when it is an HTTP scheme (email's Basic password); a signature or secret header is in `parameters`. */
  security?: { name: string; scheme: Record<string, string> };
}

/** Where a walk through a platform's feed stopped (X's pagination token): all a poller workflow carries between calls. */
export const pollResumeSchema = z.object({ nextToken: z.string().min(1).max(1000) });
export type PollResume = z.infer<typeof pollResumeSchema>;

/** What a poll is given: the channel, where to hand events on, and the activity's liveness. */
export interface PollContext {
  channel: { id: string; account_id: string; type: ChannelType };
  /** Cursors and staged events are the channel's own state, kept in PostgreSQL (channel_platform_state). */
  db: Db;
  adapterContext: AdapterContext;
  resume?: PollResume;
  /** Routes events to their conversations (src/inbound/deliver.ts); resolves once Temporal holds them. */
  deliver(events: InboundEvent[]): Promise<InboundOutcome>;
  /** Tells Temporal the poll is alive (a long walk, a slow server). */
  heartbeat(): void;
  /** Aborted when the activity is cancelled or times out. */
  signal: AbortSignal;
  log: { warn(message: string, fields?: Record<string, unknown>): void };
}

/** One call's worth of polling. */
export type PollPage =
  /** More is waiting (a long backlog, a long walk back): call again at once, from `resume` if given. */
  | { outcome: 'paging'; handedOn: number; resume?: PollResume }
  /** Caught up: poll again after `waitMs`, and not before `notBeforeMs` (a spent rate-limit window). */
  | { outcome: 'polled'; handedOn: number; waitMs: number; notBeforeMs?: number }
  /** Mid-walk with the platform's window spent: resume there once it refills. */
  | { outcome: 'rate_limited'; notBeforeMs: number; resume?: PollResume };

/**
 * Reading a platform's feed instead of being posted to (X DMs, an IMAP mailbox). One poller
 * workflow per polling channel (workflows/channel-poller.ts) calls `poll` through one activity
 * (activities/poller.ts), which decides from a thrown PlatformError whether to retry (an
 * outage), wait (a rate limit) or pause until the channel's settings change (anything else).
 */
export interface PollCapability<Config> {
  /** True when this config gets inbound messages by polling: a poller workflow runs while the channel is active. */
  polls(cfg: Config): boolean;
  /**
   * Reads what is new past the channel's cursor and hands it on oldest first, moving the
   * cursor after each event, so a crash at any point skips nothing and repeats at most the
   * event it was handing on (whose platform id then stores it once).
   */
  poll(cfg: Config, ctx: PollContext): Promise<PollPage>;
  /** The channel's status message when the platform refused a poll for good (a 401, a missing folder). */
  pausedMessage(reason: string): string;
  /**
   * Polling logs in with the credentials replies are sent with (X), so a refused login means
   * replies would be refused too: the channel needs reconnecting. Email's IMAP login is not its
   * SMTP login: a refused mailbox leaves replies going out.
   */
  sharesSendCredentials?: boolean;
}

/**
 * How messages come in: a channel type has at least one (ChannelAdapter requires it), so a
 * type with no way in is a compile error in the registry.
 *  - `webhook`: the platform posts to PingBack;
 *  - `poll`: PingBack reads the platform's feed (X DMs, an IMAP mailbox), see PollCapability;
 *  - `widget`: PingBack is the platform (the web chat widget's own routes, src/widget/).
 */
export type InboundWays<Config> =
  | { webhook: WebhookCapability<Config>; poll?: PollCapability<Config>; widget?: never }
  | { webhook?: WebhookCapability<Config>; poll: PollCapability<Config>; widget?: never }
  | { webhook?: never; poll?: never; widget: true };

/**
 * One per channel type. `send` throws a `PlatformError` that says whether a
 * retry can help; nothing outside the adapter interprets platform status codes.
 */
export type ChannelAdapter<Config = unknown> = AdapterBase<Config> & InboundWays<Config>;

export interface AdapterBase<Config> {
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
   * A credential and the settings it is handed to (`smtp.password` → `smtp.host`, `smtp.port`,
   * `smtp.user`): a PATCH that changes any of them must send the credential again, so a stored
   * password is never sent to a server it was not typed for.
   */
  secretBindings?: Readonly<Record<string, readonly string[]>>;
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
  /** The platform's limits for files sent with a reply; set, the send activity hands the adapter the files' bytes. */
  filesOut?: FilesOut;
  repliesWithFiles?: boolean;
  /** Checks credentials and points the platform's webhook at PingBack (platforms that allow it). */
  registerWebhook?(cfg: Config, hook: { url: string; secret: string }, ctx: AdapterContext): Promise<{ account?: string }>;
  unregisterWebhook?(cfg: Config, ctx: AdapterContext): Promise<void>;
  /**
   * Checks the credentials and says whose platform account they act for (X: GET /2/users/me),
   * for platforms with no webhook to register. The channel setup workflow calls it.
   */
  checkCredentials?(cfg: Config, ctx: AdapterContext): Promise<{ platformAccountId: string; account: string }>;
  /**
   * Asks the platform now how the channel stands, beyond its credentials (Telegram: where its
   * webhook points, what is waiting, the last delivery error). Without it, checkCredentials is the check.
   */
  health?(cfg: Config, ctx: AdapterContext, channel: { callbackUrl: string }): Promise<ChannelHealth>;
  /** Where the platform reaches this channel (shown in its settings as the callback URL): `/webhooks/<type>/<id>`, the widget's `/widget/<id>`. */
  callbackPath(channelId: string): string;
  /** Fetches an inbound attachment's media from the platform (attachments keep the platform's media id or URL, not the bytes). */
  fetchMedia?(cfg: Config, attachment: Attachment, ctx: AdapterContext): Promise<MediaDownload>;
}
