import Router from '@koa/router';
import type { AppDeps } from '../api/context';
import { validate } from '../api/validate';
import { isUuid } from '../db/ids';
import { readVisitorMedia, storeUpload } from '../db/stored-media';
import { notFound } from '../errors';
import { sendMedia } from '../http/media-response';
import { addressKey, RateLimiter } from '../http/rate-limit';
import { readUpload, uploadQuery, uploadView } from '../http/upload';
import type { WidgetAccess } from './access';

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
  const uploadsPerVisitor = new RateLimiter(deps.db, { name: 'widget-uploads', perMinute: deps.config.WEBCHAT_UPLOADS_PER_MINUTE });
  const uploadsPerAddress = new RateLimiter(deps.db, { name: 'widget-uploads-address', perMinute: ADDRESS_UPLOAD_FACTOR * deps.config.WEBCHAT_UPLOADS_PER_MINUTE });
  const fileReadsPerVisitor = new RateLimiter(deps.db, { name: 'widget-file-reads', perMinute: FILE_READS_PER_MINUTE });
  access.preflight(router, ['/widget/:channelId/attachments', '/widget/:channelId/attachments/:id']);

  /** The raw bytes, typed by Content-Type. Uploading with the same `id` again answers with the first upload. */
  router.post('/widget/:channelId/attachments', async (ctx) => {
    const { channel } = await access.channel(ctx);
    const visitorId = access.visitor(ctx, channel);
    access.requireActive(channel);
    const q = validate(uploadQuery, ctx.query, 'query');
    await access.limited(ctx, uploadsPerVisitor.take(`${channel.id}:${visitorId}`));
    await access.limited(ctx, uploadsPerAddress.take(`${channel.id}:${addressKey(ctx.ip)}`));
    const { contentType, bytes } = await readUpload(ctx, deps.config.WEBCHAT_ATTACHMENT_MAX_BYTES);
    const { info, created } = await storeUpload(deps.db, { channelId: channel.id, accountId: channel.account_id, owner: visitorId, clientId: q.id, contentType, fileName: q.name, bytes });
    ctx.status = created ? 201 : 200;
    ctx.body = uploadView(info);
  });

  /** One of the visitor's own files, or of an agent's reply to them; anyone else's is 404. */
  router.get('/widget/:channelId/attachments/:id', async (ctx) => {
    const { channel } = await access.channel(ctx);
    const visitorId = access.visitor(ctx, channel);
    await access.limited(ctx, fileReadsPerVisitor.take(`${channel.id}:${visitorId}`));
    const stored = isUuid(ctx.params.id) ? await readVisitorMedia(deps.db, ctx.params.id, channel.id, visitorId) : undefined;
    if (!stored) throw notFound('attachment');
    sendMedia(ctx, { body: stored.bytes, contentType: stored.content_type, contentLength: stored.size, fileName: stored.file_name ?? undefined });
  });

  return router;
}
