import { PlatformError } from '../platform-error';
import { platformFetch, readPlatformJson, streamedMedia } from '../platform-fetch';
import type { AdapterContext, MediaDownload } from '../types';
import { classifyGraphError } from './errors';
import { checkMediaUrl } from './media-hosts';

const TIMEOUT_MS = 15_000;
/** Media can be large (WhatsApp allows 100 MB documents); the download gets longer than an API call. */
const DOWNLOAD_TIMEOUT_MS = 120_000;
/** Meta's media URLs answer directly or redirect once to a CDN; a longer chain is not Meta's. */
const MAX_REDIRECTS = 3;
/** One upload: the send activity begins no part past its budget, so this keeps an attempt inside its timeout (activities/outbound.ts). */
const UPLOAD_TIMEOUT_MS = 60_000;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function graphUrl(ctx: AdapterContext, path: string): string {
  return `${ctx.metaGraphBaseUrl.replace(/\/$/, '')}/${ctx.metaGraphVersion}/${path.replace(/^\//, '')}`;
}

/**
 * One Graph API call with the channel's token as a bearer header (never in the
 * URL, so no log line or error message can carry it). Returns the JSON body or
 * throws a classified PlatformError.
 */
export async function callGraph<T>(ctx: AdapterContext, token: string, method: 'GET' | 'POST', path: string, body?: object): Promise<T> {
  const res = await graphFetch(graphUrl(ctx, path), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  }, TIMEOUT_MS);
  const json = (await readPlatformJson('Meta', res)) as Parameters<typeof classifyGraphError>[1];
  if (res.ok && !json?.error) return json as T;
  throw classifyGraphError(res.status, json);
}

/**
 * Uploads a file to WhatsApp's media store for a number (POST /{phone-number-id}/media,
 * multipart): answers the media id a message then names. Kept by Meta for 30 days.
 */
export async function uploadWhatsappMedia(ctx: AdapterContext, token: string, phoneNumberId: string, file: { name: string; type: string; bytes: Buffer }): Promise<string> {
  const form = new FormData();
  form.append('messaging_product', 'whatsapp');
  form.append('type', file.type);
  form.append('file', new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: file.type }), file.name);
  const res = await graphFetch(graphUrl(ctx, `${phoneNumberId}/media`), { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form }, UPLOAD_TIMEOUT_MS);
  const json = (await readPlatformJson('Meta', res)) as Parameters<typeof classifyGraphError>[1] & { id?: string };
  if (res.ok && !json?.error && json?.id) return json.id;
  if (res.ok && !json?.error) throw new PlatformError('unavailable', 'Meta took the upload but returned no media id');
  throw classifyGraphError(res.status, json);
}

/**
 * Downloads a media URL Meta handed out, streamed; `token` only for Meta's own media host
 * (WhatsApp). Every hop is checked against the Meta media hosts before it is requested
 * (redirects are followed by hand, at most MAX_REDIRECTS), and the token goes only to
 * the origin of the first URL, never to where that redirects.
 */
export async function downloadMedia(rawUrl: string, ctx: AdapterContext, token?: string): Promise<MediaDownload> {
  let url = checkMediaUrl(rawUrl, ctx);
  const tokenOrigin = url.origin;
  for (let hop = 0; ; hop++) {
    const res = await graphFetch(url.href, {
      redirect: 'manual',
      headers: token && url.origin === tokenOrigin ? { authorization: `Bearer ${token}` } : {},
    }, DOWNLOAD_TIMEOUT_MS);
    if (!REDIRECT_STATUSES.has(res.status)) return mediaOf(res);
    await res.body?.cancel();
    const location = res.headers.get('location');
    if (!location) throw new PlatformError('unavailable', `Meta's media host answered HTTP ${res.status} without a Location`);
    if (hop >= MAX_REDIRECTS) throw new PlatformError('rejected', `the media URL redirected more than ${MAX_REDIRECTS} times; not followed`);
    url = checkMediaUrl(location, ctx, url);
  }
}

async function mediaOf(res: Response): Promise<MediaDownload> {
  if (!res.ok || !res.body) {
    const text = await res.text().catch(() => '');
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    throw classifyGraphError(res.status, json);
  }
  return streamedMedia(res);
}

const graphFetch = (url: string, init: RequestInit, timeoutMs: number) => platformFetch('Meta Graph API', url, init, timeoutMs);
