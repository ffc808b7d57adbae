import { createHash } from 'node:crypto';
import type { Attachment, InboundMessage } from '../channels/types';
import { mediaKind } from '../channels/media-kind';
import type { Knex } from 'knex';
import { DomainError } from '../errors';
import { PLAN_LIMITS } from '../plans';
import type { Plan } from './accounts';
import type { Db } from './knex';

/**
 * Files PingBack keeps (migrations/20261203000000_stored_media.ts). A file belongs to a
 * message once the activity that stores the message links it; until then it is
 * "unlinked". An unlinked file no accepted message named is swept a day after its
 * upload; one that a message PingBack accepted named waits a week from then, as that
 * message may sit in Temporal while workers are down or behind before it is stored
 * (after a week its message was refused or dropped as a duplicate).
 */
export const UNLINKED_TTL_HOURS = 24;
export const CLAIMED_TTL_DAYS = 7;
/** Files one uploader may hold that no stored message has taken: a bound on what a visitor can park here. */
export const MAX_UNLINKED_UPLOADS = 20;

export interface StoredMediaInfo {
  id: string;
  content_type: string;
  file_name: string | null;
  size: number;
}

export interface Upload {
  channelId: string;
  /** The channel's account, whose plan bounds the bytes kept (PLAN_LIMITS.maxStoredBytes). */
  accountId: string;
  owner: string;
  clientId?: string;
  contentType: string;
  fileName?: string;
  bytes: Buffer;
}

const INFO = ['id', 'content_type', 'file_name', 'size'] as const;
const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Stores an upload, once per client id: the same id again (a retry after a timeout)
 * answers with the file stored the first time, and with 409 if the bytes differ.
 */
export async function storeUpload(db: Db, u: Upload): Promise<{ info: StoredMediaInfo; created: boolean }> {
  const sha256 = sha256Hex(u.bytes);
  return db.transaction(async (trx) => {
    // One uploader's uploads one at a time, so concurrent ones cannot race past the count below.
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`stored_media:${u.channelId}:${u.owner}`]);
    if (u.clientId) {
      const earlier = await trx('stored_media').where({ channel_id: u.channelId, owner: u.owner, client_id: u.clientId }).first(...INFO, 'sha256');
      if (earlier) {
        if (earlier.sha256 !== sha256) throw new DomainError('conflict', 'upload_id_reused', `upload id ${u.clientId} was already used for a different file`);
        const { sha256: _, ...info } = earlier;
        return { info, created: false };
      }
    }
    const [{ count }] = await trx('stored_media').where({ channel_id: u.channelId, owner: u.owner }).whereNull('message_id').count({ count: '*' });
    if (Number(count) >= MAX_UNLINKED_UPLOADS) {
      throw new DomainError('conflict', 'too_many_pending_uploads', `${MAX_UNLINKED_UPLOADS} uploads are waiting for a message already; send one with them first`);
    }
    // Checked per upload, not under a lock across the account: concurrent uploads may pass it by a few files.
    const account = await trx('accounts').where({ id: u.accountId }).first('plan');
    if ((await storedBytes(trx, u.accountId)) + u.bytes.length > PLAN_LIMITS[account.plan as Plan].maxStoredBytes) {
      throw new DomainError('conflict', 'storage_quota_exceeded', 'no more files can be kept here right now: the storage of this account\'s plan is full');
    }
    const [info] = await trx('stored_media')
      .insert({ channel_id: u.channelId, owner: u.owner, client_id: u.clientId ?? null, content_type: u.contentType, file_name: u.fileName ?? null, size: u.bytes.length, sha256, bytes: u.bytes })
      .returning(INFO);
    return { info, created: true };
  });
}

/**
 * How much arriving mail may leave here: anyone can send a channel's address mail with files,
 * and without a bound one sender could fill the account's storage until every web chat upload
 * is refused. Past a bound the message is still taken; its files are not kept (the message
 * says so).
 */
export interface ArrivedFileLimits {
  /** Bytes of files one sender's mail may leave on a channel in a day. */
  perSenderPerDay: number;
  /** Bytes of files all mail may leave on a channel in a day. */
  perChannelPerDay: number;
}
/** The defaults; operators set their own (MAIL_FILES_SENDER_MIB_PER_DAY, MAIL_FILES_CHANNEL_MIB_PER_DAY). */
export const ARRIVED_FILE_LIMITS: ArrivedFileLimits = { perSenderPerDay: 100 * 1024 ** 2, perChannelPerDay: 1024 ** 3 };

export const arrivedFileLimitsFrom = (config: { MAIL_FILES_SENDER_MIB_PER_DAY: number; MAIL_FILES_CHANNEL_MIB_PER_DAY: number }): ArrivedFileLimits => ({
  perSenderPerDay: config.MAIL_FILES_SENDER_MIB_PER_DAY * 1024 ** 2,
  perChannelPerDay: config.MAIL_FILES_CHANNEL_MIB_PER_DAY * 1024 ** 2,
});

/** Which files a row is: one that came with mail (keepArrivedFiles keys them `mail:…`), or an upload. */
const MAIL_FILE = "client_id LIKE 'mail:%'";

/** Why a message's files were not kept. */
export type FilesDropped = 'sender_daily_limit' | 'channel_daily_limit' | 'storage_quota_full';

/**
 * Files that arrived with a message PingBack is taking in (mail by webhook), claimed by
 * it from the start. Keyed by `clientId`, so a redelivery stores nothing twice and gets
 * the same ids; answers each file's id, in order, or why none was kept (see
 * ARRIVED_FILE_LIMITS; a redelivery of files kept before is never refused).
 */
export async function keepArrivedFiles(
  db: Db,
  channel: { id: string; account_id: string },
  owner: string,
  files: Array<Omit<Upload, 'channelId' | 'accountId' | 'owner'> & { clientId: string }>,
  limits: ArrivedFileLimits = ARRIVED_FILE_LIMITS,
): Promise<{ ids: string[] } | { dropped: FilesDropped }> {
  if (files.length === 0) return { ids: [] };
  const channelId = channel.id;
  const bytes = files.reduce((n, f) => n + f.bytes.length, 0);
  const dropped = await db.transaction(async (trx): Promise<FilesDropped | undefined> => {
    // One channel's arriving files one message at a time, so concurrent mail cannot race past the sums below.
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`stored_media:arrived:${channelId}`]);
    const seen = await trx('stored_media').where({ channel_id: channelId, owner }).whereIn('client_id', files.map((f) => f.clientId)).count({ n: '*' });
    if (Number(seen[0].n) > 0) return undefined;
    const today = (q: Knex.QueryBuilder) => q.where('channel_id', channelId).whereNotNull('claimed_at').whereRaw("created_at > now() - interval '1 day'").whereLike('client_id', 'mail:%');
    const [{ sender }] = await today(trx('stored_media')).andWhere({ owner }).sum({ sender: 'size' });
    if (Number(sender ?? 0) + bytes > limits.perSenderPerDay) return 'sender_daily_limit';
    const [{ all }] = await today(trx('stored_media')).sum({ all: 'size' });
    if (Number(all ?? 0) + bytes > limits.perChannelPerDay) return 'channel_daily_limit';
    const account = await trx('accounts').where({ id: channel.account_id }).first('plan');
    if ((await storedBytes(trx, channel.account_id)) + bytes > PLAN_LIMITS[account.plan as Plan].maxStoredBytes) return 'storage_quota_full';
    return undefined;
  });
  if (dropped) return { dropped };
  const rows = files.map((f) => ({
    channel_id: channelId,
    owner,
    client_id: f.clientId,
    content_type: f.contentType,
    file_name: f.fileName ?? null,
    size: f.bytes.length,
    sha256: sha256Hex(f.bytes),
    bytes: f.bytes,
    claimed_at: db.fn.now(),
  }));
  // A redelivery claims the copies kept the first time afresh, so the sweep gives its message its full time.
  const kept: Array<{ id: string; client_id: string }> = await db('stored_media')
    .insert(rows)
    .onConflict(db.raw('(channel_id, owner, client_id) WHERE client_id IS NOT NULL'))
    .merge({ claimed_at: db.fn.now() })
    .returning(['id', 'client_id']);
  const byClientId = new Map(kept.map((r) => [r.client_id, r.id]));
  return { ids: files.map((f) => byClientId.get(f.clientId)!) };
}

/**
 * The attachments a message names, as the message records them. Only the uploader's own
 * files of this channel: any other id is refused, naming it. Each is marked claimed, so
 * the sweep gives its message a week from now to be stored. `unsentOnly` also refuses a
 * file another message already carries (an agent's file goes out once; a visitor's retried
 * message may name files its first attempt already stored).
 */
export async function claimUploads(db: Db | Knex.Transaction, channelId: string, owner: string, ids: string[], opts: { unsentOnly?: boolean } = {}): Promise<Attachment[]> {
  if (ids.length === 0) return [];
  return db.transaction(async (trx) => {
    const rows: StoredMediaInfo[] = await trx('stored_media')
      .where({ channel_id: channelId, owner })
      .whereIn('id', ids)
      .modify((q) => (opts.unsentOnly ? q.whereNull('message_id') : q))
      .update({ claimed_at: trx.fn.now() })
      .returning(INFO);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const missing = ids.find((id) => !byId.has(id));
    if (missing) throw new DomainError('invalid', 'invalid_attachment', `attachment ${missing} is not an upload of yours here, was sent already, or was deleted unsent (upload it again)`);
    return ids.map((id) => {
      const info = byId.get(id)!;
      return { type: mediaKind(info.content_type), storedMediaId: info.id, mimeType: info.content_type, ...(info.file_name ? { fileName: info.file_name } : {}), size: info.size };
    });
  });
}

/**
 * Links the kept files that just-stored messages name to those messages. A file links
 * to a message only if the stored row names it: a duplicate of a stored message (same
 * platform id, other files) links nothing, and its files are swept. Safe to run again.
 */
export async function linkStoredMedia(db: Db, channelId: string, conversationId: string, messages: InboundMessage[]): Promise<void> {
  const fileIds = messages.flatMap((m) => m.attachments.flatMap((a) => (a.storedMediaId ? [a.storedMediaId] : [])));
  await db.raw(
    `UPDATE stored_media s SET message_id = m.id
       FROM messages m
      WHERE s.id = ANY(?::uuid[]) AND s.channel_id = ? AND s.message_id IS NULL
        AND m.conversation_id = ? AND m.direction = 'inbound' AND m.platform_message_id = ANY(?)
        AND m.attachments @> jsonb_build_array(jsonb_build_object('storedMediaId', s.id::text))`,
    [fileIds, channelId, conversationId, messages.map((m) => m.platformMessageId)],
  );
}

/** Bytes of files PingBack keeps for an account, over all its channels. */
export async function storedBytes(db: Db | Knex.Transaction, accountId: string): Promise<number> {
  const [{ total }] = await db('stored_media as s')
    .join('channels as c', 'c.id', 's.channel_id')
    .where('c.account_id', accountId)
    .sum({ total: 's.size' });
  return Number(total ?? 0);
}

/**
 * Links an agent's files to the reply that carries them, in the transaction that stores
 * the reply (the reply row exists before anything is sent).
 */
export async function linkReplyFiles(trx: Knex.Transaction, messageId: string, fileIds: string[]): Promise<void> {
  if (fileIds.length > 0) await trx('stored_media').whereIn('id', fileIds).whereNull('message_id').update({ message_id: messageId });
}

type StoredFile = StoredMediaInfo & { bytes: Buffer };

/** Who owns an agent's files for a reply: the conversation they were uploaded for. */
export const agentOwner = (conversationId: string) => `agent:${conversationId}`;

/** A stored file's bytes, if it belongs to this channel. */
export async function readStoredMedia(db: Db, id: string, channelId: string): Promise<StoredFile | undefined> {
  return db('stored_media').where({ id, channel_id: channelId }).first(...INFO, 'bytes');
}

/** A file a web chat visitor may open: one they uploaded, or one of a reply in their conversation. */
export async function readVisitorMedia(db: Db, id: string, channelId: string, visitorId: string): Promise<StoredFile | undefined> {
  return db('stored_media as s')
    .leftJoin('messages as m', 'm.id', 's.message_id')
    .leftJoin('conversations as c', 'c.id', 'm.conversation_id')
    .where({ 's.id': id, 's.channel_id': channelId })
    .andWhere((w) => w.where('s.owner', visitorId).orWhere((r) => r.where({ 'm.direction': 'outbound', 'c.channel_id': channelId, 'c.thread_key': visitorId })))
    .first(...INFO.map((c) => `s.${c}`), 's.bytes');
}

/** Deletes up to `limit` files no stored message took in time; answers how many. */
export async function sweepUnlinkedMedia(db: Db, limit = 500): Promise<number> {
  const stale = (q: ReturnType<Db>) =>
    q
      .whereNull('message_id')
      .andWhereRaw('created_at < now() - make_interval(hours => ?)', [UNLINKED_TTL_HOURS])
      .andWhere((w) => w.whereNull('claimed_at').orWhereRaw('claimed_at < now() - make_interval(days => ?)', [CLAIMED_TTL_DAYS]));
  return stale(db('stored_media').whereIn('id', stale(db('stored_media').select('id')).limit(limit))).delete();
}

/** For the api's sweeper (src/db/sweeper.ts). */
export const unlinkedMediaSweep = { what: 'stored files no message took', sweep: sweepUnlinkedMedia };

/**
 * Files kept from mail past their retention (MAIL_FILES_RETENTION_DAYS), deleted a batch at
 * a time; their messages stay, and opening one says the file is no longer kept.
 */
export const mailFilesSweep = (days: number) => ({
  what: 'files kept from mail past their retention',
  sweep: async (db: Db, limit: number): Promise<number> => {
    const result = await db.raw(
      `DELETE FROM stored_media WHERE id IN (SELECT id FROM stored_media WHERE ${MAIL_FILE} AND created_at < now() - make_interval(days => ?) ORDER BY created_at LIMIT ?)`,
      [days, limit],
    );
    return result.rowCount ?? 0;
  },
});

/** What PingBack keeps, for the metrics: files and bytes of mail's files and of uploads (web chat visitors', agents'). */
export async function storedMediaTotals(db: Db): Promise<Array<{ kind: 'mail' | 'upload'; files: number; bytes: number }>> {
  const { rows } = await db.raw(`SELECT (${MAIL_FILE}) AS mail, count(*)::bigint AS files, coalesce(sum(size), 0)::bigint AS bytes FROM stored_media GROUP BY 1`);
  const totals = new Map<string, { files: number; bytes: number }>(rows.map((r: { mail: boolean | null; files: string; bytes: string }) => [r.mail ? 'mail' : 'upload', { files: Number(r.files), bytes: Number(r.bytes) }]));
  return (['mail', 'upload'] as const).map((kind) => ({ kind, ...(totals.get(kind) ?? { files: 0, bytes: 0 }) }));
}
