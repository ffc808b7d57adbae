import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import Router from '@koa/router';
import { adapterFor } from '../channels';
import { openConfig } from '../channels/credentials';
import { PlatformError } from '../channels/platform-error';
import type { Attachment } from '../channels/types';
import { isUuid } from '../db/ids';
import { AppError, notFound } from '../errors';
import { adapterContextFrom } from '../channels/adapter-context';
import type { AppDeps, AuthState } from './context';

/**
 * An inbound attachment's media, fetched from the platform when an agent opens it.
 * PingBack stores the platform's media id (WhatsApp), URL (Instagram) or the mail's Message-ID
 * (email by IMAP), not the bytes: the platform keeps them (WhatsApp for 30 days, a mailbox until
 * someone deletes the mail) and the inbox streams them through.
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
    // The type is the platform's (or the sender's) word and the bytes are the customer's: never
    // let the browser guess, and open in place only what cannot run script on PingBack's origin.
    ctx.set('x-content-type-options', 'nosniff');
    const disposition = opensInPlace(media.contentType) ? 'inline' : 'attachment';
    const fileName = typeof attachment.fileName === 'string' ? `; filename*=UTF-8''${encodeURIComponent(attachment.fileName)}` : '';
    ctx.set('content-disposition', `${disposition}${fileName}`);
    ctx.body = Readable.fromWeb(media.body as WebReadableStream<Uint8Array>);
  });

  return router;
}

/** Images, audio and video play in place; SVG is an image that can carry script, so it is downloaded like the rest. */
function opensInPlace(contentType: string): boolean {
  const type = contentType.split(';')[0].trim().toLowerCase();
  return /^(image|audio|video)\/[\w.+-]+$/.test(type) && type !== 'image/svg+xml';
}
