import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import Router from '@koa/router';
import { adapterFor, requireFileReplies } from '../channels';
import { openConfig } from '../channels/credentials';
import { PlatformError } from '../channels/platform-error';
import type { Attachment } from '../channels/types';
import { isUuid } from '../db/ids';
import { agentOwner, readStoredMedia, storeUpload } from '../db/stored-media';
import { sendMedia } from '../http/media-response';
import { readUpload, uploadQuery, uploadView } from '../http/upload';
import { validate } from './validate';
import { AppError, notFound } from '../errors';
import { adapterContextFrom } from '../channels/adapter-context';
import type { AppDeps, AuthState } from './context';

/**
 * The inbox's files. A message's attachment is fetched from the platform when an agent opens it.
 * PingBack stores the platform's media id (WhatsApp), URL (Instagram) or the mail's Message-ID
 * (email by IMAP), not the bytes: the platform keeps them (WhatsApp for 30 days, a mailbox until
 * someone deletes the mail) and the inbox streams them through. Web chat has no platform
 * behind it, nor has mail that came by webhook a mailbox: those files PingBack keeps
 * itself (src/db/stored-media.ts), as it keeps the files an agent uploads for a web chat reply.
 */
export function attachmentRoutes(deps: AppDeps): Router<AuthState> {
  const router = new Router<AuthState>();
  const adapterContext = adapterContextFrom(deps.config);

  router.get('/conversations/:id/messages/:messageId/attachments/:index', async (ctx) => {
    const { id, messageId, index } = ctx.params;
    if (!isUuid(id) || !isUuid(messageId) || !/^\d{1,3}$/.test(index)) throw notFound('attachment');
    const row = await deps
      .db('messages as m')
      .join('conversations as c', 'c.id', 'm.conversation_id')
      .join('channels as ch', 'ch.id', 'c.channel_id')
      .where({ 'm.id': messageId, 'c.id': id, 'c.account_id': ctx.state.accountId })
      .first('m.attachments', 'ch.id as channel_id', 'ch.type', 'ch.config');
    const attachment: Attachment | undefined = row?.attachments?.[Number(index)];
    if (!row || !attachment) throw notFound('attachment');
    const fileName = typeof attachment.fileName === 'string' ? attachment.fileName : undefined;
    if (typeof attachment.dropped === 'string') {
      // Mail past its sender's or channel's daily allowance, or the account's storage full (ARRIVED_FILE_LIMITS).
      throw new AppError(404, 'media_not_available', `this file was not kept when the mail arrived (${attachment.dropped.replace(/_/g, ' ')})`);
    }
    if (typeof attachment.storedMediaId === 'string') {
      // A file PingBack keeps itself (a web chat upload, mail by webhook): no platform to ask.
      const stored = await readStoredMedia(deps.db, attachment.storedMediaId, row.channel_id);
      if (!stored) {
        // A mail's files are kept MAIL_FILES_RETENTION_DAYS; an upload that is gone was never sent.
        const why = row.type === 'email' ? `files that come with mail are kept ${deps.config.MAIL_FILES_RETENTION_DAYS} days` : 'it was deleted';
        throw new AppError(404, 'media_not_available', `the file is no longer stored: ${why}`);
      }
      sendMedia(ctx, { body: stored.bytes, contentType: stored.content_type, contentLength: stored.size, fileName });
      return;
    }
    const adapter = adapterFor(row.type);
    if (!adapter.fetchMedia) throw new AppError(404, 'media_not_available', `${row.type} attachments have no media PingBack can fetch`);

    let media;
    try {
      const cfg = adapter.config.parse(openConfig(deps.secrets, row.type, row.config, row.channel_id));
      media = await adapter.fetchMedia(cfg, attachment, adapterContext);
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      // The platform's words, with a status that says whose problem it is.
      if (err.kind === 'rejected') throw new AppError(404, 'media_not_available', err.message);
      if (err.kind === 'auth') throw new AppError(502, 'channel_credentials_rejected', `${err.message}; update the channel's credentials`);
      throw new AppError(503, 'platform_unavailable', `${err.message}; retry later`);
    }
    sendMedia(ctx, {
      body: Readable.fromWeb(media.body as WebReadableStream<Uint8Array>),
      contentType: media.contentType,
      contentLength: media.contentLength,
      fileName,
    });
  });

  /**
   * A file for the agent's next reply, on channels whose replies carry files (web chat):
   * the raw bytes as the body, its MIME type as Content-Type. Named in the reply's
   * `attachments`; one no reply takes is swept like a visitor's.
   */
  router.post('/conversations/:id/attachments', async (ctx) => {
    const conv = isUuid(ctx.params.id)
      ? await deps
          .db('conversations as c')
          .join('channels as ch', 'ch.id', 'c.channel_id')
          .where({ 'c.id': ctx.params.id, 'c.account_id': ctx.state.accountId })
          .first('c.id', 'c.channel_id', 'c.channel_type', 'ch.is_active')
      : undefined;
    if (!conv) throw notFound('conversation');
    requireFileReplies(conv.channel_type);
    if (!conv.is_active) throw new AppError(409, 'channel_inactive', "this conversation's channel is deactivated; reactivate it to reply");
    const q = validate(uploadQuery, ctx.query, 'query');
    const { contentType, bytes } = await readUpload(ctx, deps.config.WEBCHAT_ATTACHMENT_MAX_BYTES);
    const { info, created } = await storeUpload(deps.db, {
      channelId: conv.channel_id,
      accountId: ctx.state.accountId,
      owner: agentOwner(conv.id),
      clientId: q.id,
      contentType,
      fileName: q.name,
      bytes,
    });
    ctx.status = created ? 201 : 200;
    ctx.body = uploadView(info);
  });

  return router;
}
