/**
 * The state behind the X API fake (src/sandbox/x.ts): accounts with their OAuth
 * credentials, every DM event (X keeps both directions), rate-limit windows, and the
 * payload shapes X sends, after the shared fixtures (shared/fixtures/platforms/x/).
 */
import { randomBytes } from 'node:crypto';

export interface XUser {
  id: string;
  name: string;
  username: string;
}

/** Credentials as a PingBack X channel config takes them. */
export interface XAccountCredentials {
  api_key: string;
  api_secret: string;
  access_token: string;
  access_token_secret: string;
  oauth2_user_token: string;
}

export interface XAccount extends XUser {
  credentials: XAccountCredentials;
  revoked: boolean;
  webhookUrl?: string;
}

export interface XMedia {
  id: string;
  type: 'photo' | 'video' | 'animated_gif';
  url: string;
}

export interface DmEvent {
  id: string;
  senderId: string;
  recipientId: string;
  text: string;
  createdAtMs: number;
  media?: XMedia;
}

/** X's snowflake layout: milliseconds since X's epoch above 22 bits of sequence. */
const X_EPOCH_MS = 1288834974657n;

const secret = (n: number) => randomBytes(n).toString('base64url').replace(/[-_]/g, 'x');

export class XWorld {
  readonly accounts = new Map<string, XAccount>();
  readonly users = new Map<string, XUser>();
  /** Every DM, oldest first. */
  readonly events: DmEvent[] = [];
  private lastId = 0n;

  /** Ids grow with time, strictly, as X's do; nothing may assume they are small or dense. */
  nextId(now = Date.now()): string {
    const candidate = (BigInt(now) - X_EPOCH_MS) << 22n;
    this.lastId = candidate > this.lastId ? candidate : this.lastId + 1n;
    return this.lastId.toString();
  }

  createAccount(opts: { username?: string; name?: string } = {}): XAccount {
    const id = this.nextId();
    const username = opts.username ?? `support_${id.slice(-6)}`;
    const account: XAccount = {
      id,
      username,
      name: opts.name ?? 'Support Account',
      revoked: false,
      credentials: {
        api_key: secret(18),
        api_secret: secret(37),
        access_token: `${id}-${secret(30)}`,
        access_token_secret: secret(33),
        oauth2_user_token: secret(60),
      },
    };
    this.accounts.set(id, account);
    this.users.set(id, { id, name: account.name, username });
    return account;
  }

  rotate(id: string): XAccountCredentials {
    const account = this.account(id);
    account.credentials = { ...account.credentials, access_token: `${id}-${secret(30)}`, access_token_secret: secret(33), oauth2_user_token: secret(60) };
    account.revoked = false;
    return { ...account.credentials };
  }

  account(id: string): XAccount {
    const a = this.accounts.get(id);
    if (!a) throw new Error(`XFake: no account ${id}`);
    return a;
  }

  byConsumerAndToken(consumerKey: string, token: string): XAccount | undefined {
    return [...this.accounts.values()].find((a) => a.credentials.api_key === consumerKey && a.credentials.access_token === token);
  }

  byBearer(token: string): XAccount | undefined {
    return [...this.accounts.values()].find((a) => a.credentials.oauth2_user_token === token);
  }

  upsertUser(user: XUser): void {
    this.users.set(user.id, { ...user });
  }

  addDm(dm: Omit<DmEvent, 'id' | 'createdAtMs'>): DmEvent {
    const createdAtMs = Date.now();
    const event = { ...dm, id: this.nextId(createdAtMs), createdAtMs };
    this.events.push(event);
    return event;
  }

  /** The account's DMs, newest first, as GET /2/dm_events lists them. */
  eventsOf(accountId: string): DmEvent[] {
    return this.events.filter((e) => e.senderId === accountId || e.recipientId === accountId).reverse();
  }
}

/** "<lower id>-<higher id>", as X names one-to-one conversations. */
export function conversationId(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? `${a}-${b}` : `${b}-${a}`;
}

/** A v2 dm_event with only the fields asked for (X always returns id, event_type and text). */
export function v2DmEvent(e: DmEvent, fields: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = { id: e.id, event_type: 'MessageCreate', text: e.media ? `${e.text} ${e.media.url}`.trim() : e.text };
  if (fields.has('created_at')) out.created_at = new Date(Math.floor(e.createdAtMs / 1000) * 1000).toISOString();
  if (fields.has('sender_id')) out.sender_id = e.senderId;
  if (fields.has('dm_conversation_id')) out.dm_conversation_id = conversationId(e.senderId, e.recipientId);
  if (fields.has('participant_ids')) out.participant_ids = [e.senderId, e.recipientId];
  if (fields.has('attachments') && e.media) out.attachments = { media_keys: [mediaKey(e.media)] };
  return out;
}

export function mediaKey(m: XMedia): string {
  return `${m.type === 'photo' ? 3 : m.type === 'video' ? 7 : 16}_${m.id}`;
}

/** A v1.1-style user object, as the Account Activity `users` map carries them. */
function aaaUser(u: XUser): Record<string, unknown> {
  return {
    id: u.id,
    created_timestamp: '1559167625174',
    name: u.name,
    screen_name: u.username,
    protected: false,
    verified: false,
    followers_count: 142,
    friends_count: 335,
    statuses_count: 2396,
    profile_image_url: 'http://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png',
    profile_image_url_https: 'https://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png',
  };
}

const TWITTER_WEB_APP = { id: '3033300', name: 'Twitter Web App', url: 'https://mobile.twitter.com' };

/** An Account Activity delivery of one DM (aaa-dm-received.json's shape). */
export function accountActivityDm(forUserId: string, e: DmEvent, users: Map<string, XUser>): Record<string, unknown> {
  const messageData: Record<string, unknown> = {
    text: e.media ? `${e.text} ${e.media.url}`.trim() : e.text,
    entities: { hashtags: [], symbols: [], user_mentions: [], urls: [] },
  };
  if (e.media) {
    const { id, type, url } = e.media;
    messageData.attachment = { type: 'media', media: { id: Number(id), id_str: id, media_url_https: url, type, url: url } };
  }
  const party = [e.senderId, e.recipientId].map((id) => users.get(id) ?? { id, name: 'X user', username: `user${id.slice(-4)}` });
  return {
    for_user_id: forUserId,
    direct_message_events: [
      {
        type: 'message_create',
        id: e.id,
        created_timestamp: String(e.createdAtMs),
        message_create: {
          target: { recipient_id: e.recipientId },
          sender_id: e.senderId,
          source_app_id: TWITTER_WEB_APP.id,
          message_data: messageData,
        },
      },
    ],
    apps: { [TWITTER_WEB_APP.id]: TWITTER_WEB_APP },
    users: Object.fromEntries(party.map((u) => [u.id, aaaUser(u)])),
  };
}

/** A follow delivery (aaa-follow-event.json's shape). */
export function accountActivityFollow(forUserId: string, follower: XUser, account: XUser): Record<string, unknown> {
  return {
    for_user_id: forUserId,
    follow_events: [{ type: 'follow', created_timestamp: String(Date.now()), target: aaaUser(account), source: aaaUser(follower) }],
  };
}

/** v2 problem bodies, as in dm-send-v2-*.json. */
export const problem = (status: number, title: string, detail = title, type = 'about:blank') => ({ title, detail, type, status });

export interface Reply { status: number; body: object; headers?: Record<string, string> }
export type XFailure =
  | { kind: 'rate_limit'; resetInSeconds: number }
  | { kind: 'server_error'; status?: number }
  | { kind: 'dms_closed' }
  | { kind: 'forbidden' }
  | { kind: 'unauthorized' };

export const UNAUTHORIZED = problem(401, 'Unauthorized');
export const tooMany = (): Reply => ({ status: 429, body: problem(429, 'Too Many Requests') });
export const invalid = (message: string): Reply => ({
  status: 400,
  body: { errors: [{ message }], ...problem(400, 'Invalid Request', 'One or more parameters to your request was invalid.', 'https://api.twitter.com/2/problems/invalid-request') },
});

const STATUS_TEXT: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

/** Scripted failures, with X's bodies: dm-send-403-cannot-send-to-user.json, dm-send-v2-403-forbidden.json. */
export function failureReply(f: XFailure): Reply {
  switch (f.kind) {
    case 'rate_limit': return tooMany();
    case 'server_error': return { status: f.status ?? 503, body: problem(f.status ?? 503, STATUS_TEXT[f.status ?? 503] ?? 'Server Error') };
    case 'dms_closed': return { status: 403, body: { errors: [{ code: 349, message: 'You cannot send messages to this user.' }] } };
    case 'forbidden': return { status: 403, body: problem(403, 'Forbidden') };
    case 'unauthorized': return { status: 401, body: UNAUTHORIZED };
  }
}
