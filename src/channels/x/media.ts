import { PlatformError } from '../platform-error';
import { platformFetch, streamedMedia } from '../platform-fetch';
import type { FilesOut, MediaDownload } from '../types';
import { callXApi } from './api';
import { xAuthOf, type XConfig } from './config';
import { classifyXError } from './errors';
import { oauth1Header } from './oauth1';

/**
 * Files in DMs. X takes one media per DM, uploaded first (POST /2/media/upload) with a DM
 * category, then named by its id in the DM's `attachments`. Images go up in one request
 * (the "one shot" upload, whose media types are these); GIFs and videos need X's chunked
 * upload (INIT, APPEND, FINALIZE, then STATUS until processed), which PingBack does not do
 * yet: they are refused when the reply is written.
 */
const ONE_SHOT_IMAGE_TYPES = new Set(['image/jpeg', 'image/pjpeg', 'image/png', 'image/webp', 'image/bmp', 'image/tiff']);
const IMAGE_MAX_BYTES = 5 * 1024 ** 2;
const UPLOAD_TIMEOUT_MS = 60_000;

export const X_FILES_OUT: FilesOut = {
  // Ours, not X's: each file is its own DM, and ten is what the other channels take.
  maxFiles: 10,
  maxFileBytes: IMAGE_MAX_BYTES,
  refuses: ({ contentType }) =>
    ONE_SHOT_IMAGE_TYPES.has(contentType.toLowerCase())
      ? undefined
      : `X DMs from PingBack take images (JPEG, PNG, WebP, BMP, TIFF) up to 5 MB; ${contentType} is not one`,
  source: 'docs.x.com/x-api/media/upload-media (one-shot media types) and docs.x.com/x-api/media/quickstart/best-practices (dm_image, images up to 5 MB)',
};

/** Uploads an image for a DM (media_category dm_image); answers the media id the DM then names. */
export async function uploadDmImage(baseUrl: string, cfg: XConfig, file: { name: string; type: string; bytes: Buffer }): Promise<string> {
  const form = new FormData();
  form.append('media_category', 'dm_image');
  form.append('media_type', file.type);
  form.append('media', new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: file.type }), file.name);
  const { body } = await callXApi<{ data?: { id?: string } }>(baseUrl, cfg, { method: 'POST', path: '/2/media/upload', form, timeoutMs: UPLOAD_TIMEOUT_MS });
  const id = body.data?.id;
  // The DM was not sent: a retry uploads again, and the customer sees nothing twice.
  if (!id) throw new PlatformError('unavailable', 'X took the upload but returned no media id', { nothingSent: true });
  return id;
}

/** Where X keeps media: DM files on ton.twitter.com (user-context auth, like the API), the rest on its public CDN. */
const MEDIA_HOSTS = new Set(['ton.twitter.com', 'pbs.twimg.com', 'video.twimg.com']);
const DOWNLOAD_TIMEOUT_MS = 120_000;

/**
 * A customer's DM file, streamed to the agent. The URL is the delivery's word, so it is fetched
 * only from X's media hosts (or, in the sandbox, from X_API_BASE_URL's origin), over https,
 * redirects not followed; the channel's credentials go only to ton.twitter.com (or the sandbox).
 */
export async function downloadDmMedia(baseUrl: string, cfg: XConfig, rawUrl: string): Promise<MediaDownload> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new PlatformError('rejected', 'the media URL is not a URL');
  }
  const sandbox = url.origin === new URL(baseUrl).origin;
  if (!sandbox && !(url.protocol === 'https:' && MEDIA_HOSTS.has(url.hostname))) throw new PlatformError('rejected', `media at ${url.hostname} is not on X's media hosts; not fetched`);
  const headers: Record<string, string> = {};
  if (sandbox || url.hostname === 'ton.twitter.com') {
    const auth = xAuthOf(cfg);
    headers.authorization = auth.kind === 'oauth2' ? `Bearer ${auth.token}` : oauth1Header(auth, { method: 'GET', url: url.href });
  }
  const res = await platformFetch('X media', url.href, { headers, redirect: 'manual' }, DOWNLOAD_TIMEOUT_MS);
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw classifyXError(res.status, undefined);
  }
  return streamedMedia(res);
}
