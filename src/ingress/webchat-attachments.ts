import Router from '@koa/router';
import { z } from 'zod';
import type { AppDeps } from '../api/context';
import { validate } from '../api/validate';
import { isUuid } from '../db/ids';
import { readStoredMedia, StoredMediaInfo, storeUpload } from '../db/stored-media';
import { AppError, notFound } from '../errors';
import { readRawBody } from '../http/body';
import { sendMedia } from '../http/media-response';
import { RateLimiter } from '../http/rate-limit';
import type { WidgetAccess } from './widget-access';
import { widgetClientId } from './widget-fields';

export const widgetUploadQuery = z
  .object({
    id: widgetClientId.optional(),
    /** The file's name as the visitor's device had it. */
    name: z
      .string()
      .trim()
      .min(1)
      .max(255, 'must be at most 255 characters')
      // A name is shown and offered for download, never used as a path.
      .refine((n) => !/[\/\\\u0000-\u001f\u007f]/.test(n), 'must not contain slashes or control characters')
      .optional(),
  })
  .strict();

/** Reads of one's own files per visitor per minute: a chat shows a handful. */
const FILE_READS_PER_MINUTE = 60;
/**
 * Uploads from one address per channel per minute, as a multiple of one visitor's: visitors
 * cost nothing to start, so without it one address could upload at many visitors' rate.
 */
const ADDRESS_UPLOAD_FACTOR = 3;

/**
 * A web chat visitor's files. There is no platform behind the widget to fetch them from
 * again, so PingBack keeps them (src/db/stored-media.ts): uploaded first, then named by
 * a message; the message's workflow links them when it stores the message.
 */
export function webchatAttachmentRoutes(deps: AppDeps, access: WidgetAccess): Router {
  const router = new Router();
  const uploadsPerVisitor = new RateLimiter(deps.config.WEBCHAT_UPLOADS_PER_MINUTE, 60_000);
  const uploadsPerAddress = new RateLimiter(ADDRESS_UPLOAD_FACTOR * deps.config.WEBCHAT_UPLOADS_PER_MINUTE, 60_000);
  const fileReadsPerVisitor = new RateLimiter(FILE_READS_PER_MINUTE, 60_000);
  access.preflight(router, ['/widget/:channelId/attachments', '/widget/:channelId/attachments/:id']);

  /** The raw bytes, typed by Content-Type. Uploading with the same `id` again answers with the first upload. */
  router.post('/widget/:channelId/attachments', async (ctx) => {
    const { channel } = await access.channel(ctx);
    const visitorId = access.visitor(ctx, channel);
    access.requireActive(channel);
    const q = validate(widgetUploadQuery, ctx.query, 'query');
    const contentType = uploadedType(ctx.get('content-type'));
    access.limited(ctx, uploadsPerVisitor.take(`${channel.id}:${visitorId}`));
    access.limited(ctx, uploadsPerAddress.take(`${channel.id}:${ctx.ip}`));
    const bytes = await readRawBody(ctx, deps.config.WEBCHAT_ATTACHMENT_MAX_BYTES);
    if (bytes.length === 0) throw new AppError(400, 'empty_attachment', 'the file is empty');
    const { info, created } = await storeUpload(deps.db, { channelId: channel.id, accountId: channel.account_id, owner: visitorId, clientId: q.id, contentType, fileName: q.name, bytes });
    ctx.status = created ? 201 : 200;
    ctx.body = uploadView(info);
  });

  /** One of the visitor's own files back (the widget shows what it sent); anyone else's is 404. */
  router.get('/widget/:channelId/attachments/:id', async (ctx) => {
    const { channel } = await access.channel(ctx);
    const visitorId = access.visitor(ctx, channel);
    access.limited(ctx, fileReadsPerVisitor.take(`${channel.id}:${visitorId}`));
    const stored = isUuid(ctx.params.id) ? await readStoredMedia(deps.db, ctx.params.id, { channelId: channel.id, owner: visitorId }) : undefined;
    if (!stored) throw notFound('attachment');
    sendMedia(ctx, { body: stored.bytes, contentType: stored.content_type, contentLength: stored.size, fileName: stored.file_name ?? undefined });
  });

  return router;
}

/** The widget's view of an upload. */
function uploadView(info: StoredMediaInfo) {
  return { id: info.id, file_name: info.file_name, content_type: info.content_type, size: info.size };
}

/** The upload's MIME type without parameters, or 415: it decides how the file is shown and served. */
function uploadedType(header: string): string {
  const type = header.split(';')[0].trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/.test(type)) {
    throw new AppError(415, 'unsupported_media_type', 'send the file as the request body with its MIME type as Content-Type (image/png, application/pdf …)');
  }
  return type;
}
