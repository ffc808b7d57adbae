import { PlatformError } from '../platform-error';
import type { AdapterContext, MediaDownload } from '../types';
import { classifyGraphError } from './errors';

const TIMEOUT_MS = 15_000;
/** Media can be large (WhatsApp allows 100 MB documents); the download gets longer than an API call. */
const DOWNLOAD_TIMEOUT_MS = 120_000;

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
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    // Load balancers answer HTML during outages; a 4xx without JSON is still a refusal.
    throw new PlatformError(res.status >= 500 || res.ok ? 'unavailable' : 'rejected', `Meta answered HTTP ${res.status} without JSON`, {
      status: res.status,
    });
  }
  if (res.ok && !json?.error) return json as T;
  throw classifyGraphError(res.status, json);
}

/** Downloads a media URL Meta handed out, streamed; `token` only for Meta's own media host (WhatsApp). */
export async function downloadMedia(url: string, token?: string): Promise<MediaDownload> {
  const res = await graphFetch(url, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
  });
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
  const length = Number(res.headers.get('content-length'));
  return {
    body: res.body as ReadableStream<Uint8Array>,
    contentType: res.headers.get('content-type') ?? 'application/octet-stream',
    contentLength: Number.isFinite(length) && length > 0 ? length : undefined,
  };
}

async function graphFetch(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? 'no answer in time' : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new PlatformError('unavailable', `Meta Graph API unreachable: ${why}`);
  }
}
