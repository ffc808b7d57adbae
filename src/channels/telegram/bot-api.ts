import { platformFetch, readPlatformJson } from '../platform-fetch';
import { classifyTelegramError, TelegramErrorBody } from './errors';

const TIMEOUT_MS = 15_000;

/**
 * Calls one Bot API method. Returns `result` or throws a classified PlatformError.
 * The token is part of the URL, so no error message here ever includes the URL.
 */
export async function callBotApi<T>(baseUrl: string, token: string, method: string, params: object): Promise<T> {
  const url = `${baseUrl.replace(/\/$/, '')}/bot${token}/${method}`;
  const res = await platformFetch('Telegram Bot API', url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) }, TIMEOUT_MS);
  const body = (await readPlatformJson('Telegram', res)) as { ok?: boolean; result?: T; error_code?: number; description?: string };
  if (res.ok && body.ok === true) return body.result as T;
  throw classifyTelegramError(res.status, body as TelegramErrorBody);
}

