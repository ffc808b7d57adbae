import type { Readable } from 'node:stream';
import contentDisposition from 'content-disposition';
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
  // Set as given: ctx.type would add a charset to text/* that the file may not be in.
  ctx.set('content-type', media.contentType);
  if (media.contentLength) ctx.length = media.contentLength;
  ctx.set('x-content-type-options', 'nosniff');
  // RFC 6266: the name in RFC 8187's encoding, beside an ASCII stand-in for old clients (bytes
  // above ASCII in a header are read differently by different clients, so none are sent).
  const type = opensInPlace(media.contentType) ? 'inline' : 'attachment';
  const fallback = media.fileName?.replace(/[^\x20-\x7e]/g, '?');
  ctx.set('content-disposition', contentDisposition(media.fileName, { type, fallback }));
  ctx.body = media.body;
}

/** Images, audio and video play in place; SVG is an image that can carry script, so it is downloaded like the rest. */
function opensInPlace(contentType: string): boolean {
  const type = contentType.split(';')[0].trim().toLowerCase();
  return /^(image|audio|video)\/[\w.+-]+$/.test(type) && type !== 'image/svg+xml';
}
