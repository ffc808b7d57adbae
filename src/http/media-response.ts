import type { Readable } from 'node:stream';
import type { Context } from 'koa';

export interface MediaBody {
  body: Readable | Buffer;
  contentType: string;
  contentLength?: number;
  fileName?: string;
}

/**
 * Answers with a customer's file. Its type is the platform's (or the sender's) word and
 * the bytes are the customer's: never let the browser guess, and open in place only what
 * cannot run script on PingBack's origin.
 */
export function sendMedia(ctx: Context, media: MediaBody): void {
  ctx.type = media.contentType;
  if (media.contentLength) ctx.length = media.contentLength;
  ctx.set('x-content-type-options', 'nosniff');
  const disposition = opensInPlace(media.contentType) ? 'inline' : 'attachment';
  const fileName = media.fileName ? `; filename*=UTF-8''${encodeURIComponent(media.fileName)}` : '';
  ctx.set('content-disposition', `${disposition}${fileName}`);
  ctx.body = media.body;
}

/** Images, audio and video play in place; SVG is an image that can carry script, so it is downloaded like the rest. */
function opensInPlace(contentType: string): boolean {
  const type = contentType.split(';')[0].trim().toLowerCase();
  return /^(image|audio|video)\/[\w.+-]+$/.test(type) && type !== 'image/svg+xml';
}
