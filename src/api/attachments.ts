import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import Router from '@koa/router';
import { adapterFor } from '../channels';
import { openConfig } from '../channels/credentials';
import { PlatformError } from '../channels/platform-error';
import type { AdapterContext, Attachment } from '../channels/types';
import { isUuid } from '../db/ids';
import { AppError, notFound } from '../errors';
import type { AppDeps, AuthState } from './context';

/**
 * An inbound attachment's media, fetched from the platform when an agent opens it.
 * PingBack stores the platform's media id (WhatsApp) or URL (Instagram), not the bytes:
 * the platform keeps them (WhatsApp for 30 days) and the inbox streams them through.
 */
export function attachmentRoutes(deps: AppDeps): Router<AuthState> {
  const router = new Router<AuthState>();
  const adapterContext: AdapterContext = {
    telegramApiBaseUrl: deps.config.TELEGRAM_API_BASE_URL,
    metaGraphBaseUrl: deps.config.META_GRAPH_BASE_URL,
    metaGraphVersion: deps.config.META_GRAPH_VERSION,
    xApiBaseUrl: deps.config.X_API_BASE_URL,
  };

  router.get('/conversations/:id/messages/:messageId/attachments/:index', async (ctx) => {
    const { id, messageId, index } = ctx.params;
    if (!isUuid(id) || !isUuid(messageId) || !/^\d{1,3}$/.test(index)) throw notFound('attachment');
    const row = await deps
      .db('messages as m')
      .join('conversations as c', 'c.id', 'm.conversation_id')
      .join('channels as ch', 'ch.id', 'c.channel_id')
      .where({ 'm.id': messageId, 'c.id': id, 'c.account_id': ctx.state.accountId })
      .first('m.attachments', 'ch.type', 'ch.config');
    const attachment: Attachment | undefined = row?.attachments?.[Number(index)];
    if (!row || !attachment) throw notFound('attachment');
    const adapter = adapterFor(row.type);
    if (!adapter.fetchMedia) throw new AppError(404, 'media_not_available', `${row.type} attachments have no media PingBack can fetch`);

    let media;
    try {
      const cfg = adapter.config.parse(openConfig(deps.secrets, row.type, row.config));
      media = await adapter.fetchMedia(cfg, attachment, adapterContext);
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      // The platform's words, with a status that says whose problem it is.
      if (err.kind === 'rejected') throw new AppError(404, 'media_not_available', err.message);
      if (err.kind === 'auth') throw new AppError(502, 'channel_credentials_rejected', `${err.message}; update the channel's credentials`);
      throw new AppError(503, 'platform_unavailable', `${err.message}; retry later`);
    }
    ctx.type = media.contentType;
    if (media.contentLength) ctx.length = media.contentLength;
    if (typeof attachment.fileName === 'string') {
      ctx.set('content-disposition', `inline; filename*=UTF-8''${encodeURIComponent(attachment.fileName)}`);
    }
    ctx.body = Readable.fromWeb(media.body as WebReadableStream<Uint8Array>);
  });

  return router;
}
