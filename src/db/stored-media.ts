import { createHash } from 'node:crypto';
import type { Attachment } from '../channels/types';
import { mediaKind } from '../channels/media-kind';
import { AppError } from '../errors';
import type { Db } from './knex';

/** Unattached uploads older than this are swept: the message that would carry them never came. */
export const UNATTACHED_TTL_HOURS = 24;
/** Uploads one uploader may hold that no message carries yet: a bound on what a visitor can park here. */
export const MAX_PENDING_UPLOADS = 20;

export interface StoredMediaInfo {
  id: string;
  content_type: string;
  file_name: string | null;
  size: number;
}

export interface Upload {
  channelId: string;
  owner: string;
  clientId?: string;
  contentType: string;
  fileName?: string;
  bytes: Buffer;
}

const INFO = ['id', 'content_type', 'file_name', 'size'] as const;

/**
 * Stores an upload, once per client id: the same id again (a retry after a timeout)
 * answers with the file stored the first time, and with 409 if the bytes differ.
 */
export async function storeUpload(db: Db, u: Upload): Promise<{ info: StoredMediaInfo; created: boolean }> {
  const sha256 = createHash('sha256').update(u.bytes).digest('hex');
  return db.transaction(async (trx) => {
    // One visitor's uploads one at a time, so the pending count below cannot be raced past.
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`stored_media:${u.channelId}:${u.owner}`]);
    if (u.clientId) {
      const earlier = await trx('stored_media').where({ channel_id: u.channelId, owner: u.owner, client_id: u.clientId }).first(...INFO, 'sha256');
      if (earlier) {
        if (earlier.sha256 !== sha256) throw new AppError(409, 'upload_id_reused', `upload id ${u.clientId} was already used for a different file`);
        const { sha256: _, ...info } = earlier;
        return { info, created: false };
      }
    }
    const [{ count }] = await trx('stored_media').where({ channel_id: u.channelId, owner: u.owner }).whereNull('attached_at').count({ count: '*' });
    if (Number(count) >= MAX_PENDING_UPLOADS) {
      throw new AppError(409, 'too_many_pending_uploads', `${MAX_PENDING_UPLOADS} uploads are waiting for a message already; send one with them first`);
    }
    const [info] = await trx('stored_media')
      .insert({
        channel_id: u.channelId,
        owner: u.owner,
        client_id: u.clientId ?? null,
        content_type: u.contentType,
        file_name: u.fileName ?? null,
        size: u.bytes.length,
        sha256,
        bytes: u.bytes,
      })
      .returning(INFO);
    return { info, created: true };
  });
}

/**
 * Files that arrived with a message PingBack is taking in (mail by webhook), kept as the
 * message's own from the start. Keyed by `clientId`, so a redelivery keeps nothing twice
 * and gets the same ids; answers each file's id, in order.
 */
export async function keepArrivedFiles(db: Db, channelId: string, owner: string, files: Array<Omit<Upload, 'channelId' | 'owner'> & { clientId: string }>): Promise<string[]> {
  if (files.length === 0) return [];
  const rows = files.map((f) => ({
    channel_id: channelId,
    owner,
    client_id: f.clientId,
    content_type: f.contentType,
    file_name: f.fileName ?? null,
    size: f.bytes.length,
    sha256: createHash('sha256').update(f.bytes).digest('hex'),
    bytes: f.bytes,
    attached_at: db.fn.now(),
  }));
  await db('stored_media').insert(rows).onConflict(db.raw('(channel_id, owner, client_id) WHERE client_id IS NOT NULL')).ignore();
  const kept: Array<{ id: string; client_id: string }> = await db('stored_media')
    .where({ channel_id: channelId, owner })
    .whereIn('client_id', files.map((f) => f.clientId))
    .select('id', 'client_id');
  const byClientId = new Map(kept.map((r) => [r.client_id, r.id]));
  return files.map((f) => byClientId.get(f.clientId)!);
}

/**
 * The attachments a message names, as the message records them, and each marked as
 * taken so the sweep leaves it. Only the uploader's own files of this channel: any
 * other id is refused, naming it, and nothing is marked.
 */
export async function attachUploads(db: Db, channelId: string, owner: string, ids: string[]): Promise<Attachment[]> {
  if (ids.length === 0) return [];
  return db.transaction(async (trx) => {
    const rows: StoredMediaInfo[] = await trx('stored_media')
      .where({ channel_id: channelId, owner })
      .whereIn('id', ids)
      .update({ attached_at: trx.raw('coalesce(attached_at, now())') })
      .returning(INFO);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const missing = ids.find((id) => !byId.has(id));
    if (missing) throw new AppError(400, 'invalid_attachment', `attachment ${missing} is not an upload of this visitor (upload it with POST /widget/{channel_id}/attachments)`);
    return ids.map((id) => attachmentOf(byId.get(id)!));
  });
}

export function attachmentOf(info: StoredMediaInfo): Attachment {
  return {
    type: mediaKind(info.content_type),
    storedMediaId: info.id,
    mimeType: info.content_type,
    ...(info.file_name ? { fileName: info.file_name } : {}),
    size: info.size,
  };
}

/** A stored file's bytes, if it belongs to this channel (and to this owner, when given). */
export async function readStoredMedia(db: Db, id: string, where: { channelId: string; owner?: string }): Promise<(StoredMediaInfo & { bytes: Buffer }) | undefined> {
  return db('stored_media')
    .where({ id, channel_id: where.channelId, ...(where.owner !== undefined ? { owner: where.owner } : {}) })
    .first(...INFO, 'bytes');
}

/** Deletes a channel's uploads that no message took within the TTL, a bounded number per call. */
export async function sweepUnattached(db: Db, channelId: string, limit = 100): Promise<number> {
  return db('stored_media')
    .whereIn(
      'id',
      db('stored_media')
        .select('id')
        .where({ channel_id: channelId })
        .whereNull('attached_at')
        .andWhereRaw(`created_at < now() - make_interval(hours => ?)`, [UNATTACHED_TTL_HOURS])
        .limit(limit),
    )
    .whereNull('attached_at')
    .delete();
}
