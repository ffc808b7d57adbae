import Router from '@koa/router';
import type { AppDeps } from '../api/context';
import type { SecretBox } from '../crypto/secret-box';
import { isUuid } from '../db/ids';
import { notFound } from '../errors';
import { sendMedia } from './media-response';

/**
 * Links to a file PingBack keeps, for a platform that fetches a reply's files itself rather
 * than taking an upload (Instagram's Send API takes a URL). A link names one file and expires:
 * its token is sealed with a key of its own purpose, bound to the file, so it opens nothing
 * else and cannot be made up.
 */
const LINK_TTL_MS = 60 * 60_000;

export function mediaLink(publicBaseUrl: string, secrets: SecretBox, mediaId: string, ttlMs = LINK_TTL_MS): string {
  const token = secrets.for('media-link').seal(String(Date.now() + ttlMs), `media/${mediaId}`);
  return `${publicBaseUrl.replace(/\/$/, '')}/media/${mediaId}?t=${encodeURIComponent(token)}`;
}

/** GET /media/:id?t=…: the file, to whoever holds an unexpired link to it; 404 for anything else. */
export function mediaLinkRoutes(deps: Pick<AppDeps, 'db' | 'secrets'>): Router {
  const router = new Router();
  const links = deps.secrets.for('media-link');
  router.get('/media/:id', async (ctx) => {
    const { id } = ctx.params;
    const token = typeof ctx.query.t === 'string' ? ctx.query.t : '';
    let expires = 0;
    try {
      expires = Number(links.open(token, `media/${id}`));
    } catch {
      /* not a link this instance made, or for another file */
    }
    if (!isUuid(id) || !(expires > Date.now())) throw notFound('file');
    const file = await deps.db('stored_media').where({ id }).first('content_type', 'size', 'file_name', 'bytes');
    if (!file) throw notFound('file');
    ctx.set('cache-control', 'private, no-store');
    sendMedia(ctx, { body: file.bytes, contentType: file.content_type, contentLength: file.size, ...(file.file_name ? { fileName: file.file_name } : {}) });
  });
  return router;
}
