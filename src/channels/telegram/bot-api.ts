import { PlatformError } from '../platform-error';
import type { MediaDownload } from '../types';
import { platformFetch, readPlatformJson, streamedMedia } from '../platform-fetch';
import { classifyTelegramError, TelegramErrorBody } from './errors';

const TIMEOUT_MS = 15_000;

/**
 * Calls one Bot API method. Returns `result` or throws a classified PlatformError.
 * The token is part of the URL, so no error message here ever includes the URL.
 */
/**
 * A Bot API method that uploads a file (sendPhoto, sendDocument, …): multipart/form-data, the
 * file under `field`, other parameters as fields (objects as JSON, as Telegram takes them).
 */
export async function uploadToBotApi<T>(baseUrl: string, token: string, method: string, params: Record<string, unknown>, file: { field: string; name: string; type: string; bytes: Buffer }): Promise<T> {
  const url = `${baseUrl.replace(/\/$/, '')}/bot${token}/${method}`;
  const form = new FormData();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) form.append(k, typeof v === 'string' ? v : JSON.stringify(v));
  form.append(file.field, new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: file.type }), file.name);
  // Uploads take longer than a call: up to 50 MB at a slow link's pace.
  const res = await platformFetch('Telegram Bot API', url, { method: 'POST', body: form }, UPLOAD_TIMEOUT_MS);
  const body = (await readPlatformJson('Telegram', res)) as { ok?: boolean; result?: T; error_code?: number; description?: string };
  if (res.ok && body.ok === true) return body.result as T;
  throw classifyTelegramError(res.status, body as TelegramErrorBody);
}

/** One upload: the send activity begins no part past its budget, so this keeps an attempt inside its timeout (activities/outbound.ts). */
const UPLOAD_TIMEOUT_MS = 60_000;

export async function callBotApi<T>(baseUrl: string, token: string, method: string, params: object): Promise<T> {
  const url = `${baseUrl.replace(/\/$/, '')}/bot${token}/${method}`;
  const res = await platformFetch('Telegram Bot API', url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) }, TIMEOUT_MS);
  const body = (await readPlatformJson('Telegram', res)) as { ok?: boolean; result?: T; error_code?: number; description?: string };
  if (res.ok && body.ok === true) return body.result as T;
  throw classifyTelegramError(res.status, body as TelegramErrorBody);
}


const DOWNLOAD_TIMEOUT_MS = 120_000;

/**
 * A file a customer sent, streamed: getFile names where Telegram keeps it (for an hour at least),
 * then it is fetched from the file endpoint (core.telegram.org/bots/api#getfile: bots download
 * files up to 20 MB). The token is in both URLs, so no error message includes either.
 */
export async function downloadBotFile(baseUrl: string, token: string, fileId: string): Promise<MediaDownload> {
  const file = await callBotApi<{ file_path?: string; file_size?: number }>(baseUrl, token, 'getFile', { file_id: fileId });
  if (!file.file_path) throw new PlatformError('rejected', 'Telegram keeps no copy of this file for the bot to download');
  const res = await platformFetch('Telegram file server', `${baseUrl.replace(/\/$/, '')}/file/bot${token}/${file.file_path}`, {}, DOWNLOAD_TIMEOUT_MS);
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new PlatformError(res.status >= 500 ? 'unavailable' : 'rejected', `Telegram's file server answered HTTP ${res.status}`, { status: res.status });
  }
  return streamedMedia(res);
}
