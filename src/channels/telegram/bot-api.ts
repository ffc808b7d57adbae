import { describeNetworkError } from '../network-error';
import { PlatformError } from '../platform-error';
import { classifyTelegramError, TelegramErrorBody } from './errors';

const TIMEOUT_MS = 15_000;

/**
 * Calls one Bot API method. Returns `result` or throws a classified PlatformError.
 * The token is part of the URL, so no error message here ever includes the URL.
 */
export async function callBotApi<T>(baseUrl: string, token: string, method: string, params: object): Promise<T> {
  const url = `${baseUrl.replace(/\/$/, '')}/bot${token}/${method}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    const why = describeNetworkError(err, TIMEOUT_MS);
    throw new PlatformError('unavailable', `Telegram Bot API unreachable: ${why}`);
  }
  const text = await res.text();
  let body: { ok?: boolean; result?: T; error_code?: number; description?: string };
  try {
    body = JSON.parse(text);
  } catch {
    // Proxies and outages answer HTML; only a 2xx without JSON is Telegram misbehaving.
    throw new PlatformError(res.status >= 500 || res.ok ? 'unavailable' : 'rejected', `Telegram answered HTTP ${res.status} without JSON`, {
      status: res.status,
    });
  }
  if (res.ok && body.ok === true) return body.result as T;
  throw classifyTelegramError(res.status, body as TelegramErrorBody);
}

