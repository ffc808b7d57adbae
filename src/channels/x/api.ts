import { platformFetch, readPlatformJson } from '../platform-fetch';
import { XConfig, xAuthOf } from './config';
import { classifyXError, XErrorBody } from './errors';
import { oauth1Header, percentEncode } from './oauth1';

const TIMEOUT_MS = 15_000;

/** X's rate-limit headers (docs.x.com "Rate limits"): reset is epoch seconds. */
export interface XRateLimit {
  limit?: number;
  remaining?: number;
  resetAtMs?: number;
}

export interface XRequest {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string>;
  json?: unknown;
  /** A multipart body (a media upload): not signed, as OAuth 1.0a signs only form-urlencoded bodies. */
  form?: FormData;
  timeoutMs?: number;
  /** Aborts the call (an activity being cancelled). */
  signal?: AbortSignal;
}

/**
 * One X API v2 call with the channel's user context: OAuth 1.0a signed, or the
 * OAuth 2.0 user token as bearer. Returns the body and the rate-limit headers, or
 * throws a classified PlatformError. No error message includes a header or the URL's query.
 */
export async function callXApi<T>(baseUrl: string, cfg: XConfig, req: XRequest): Promise<{ body: T; rateLimit: XRateLimit }> {
  // The query is encoded here, once, so the bytes sent are the bytes signed.
  const query = Object.entries(req.query ?? {})
    .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`)
    .join('&');
  const url = `${baseUrl.replace(/\/$/, '')}${req.path}${query ? `?${query}` : ''}`;
  const auth = xAuthOf(cfg);
  const headers: Record<string, string> = {
    authorization: auth.kind === 'oauth2' ? `Bearer ${auth.token}` : oauth1Header(auth, { method: req.method, url }),
    ...(req.json !== undefined ? { 'content-type': 'application/json' } : {}),
  };
  const res = await platformFetch(
    'X API',
    url,
    { method: req.method, headers, body: req.form ?? (req.json !== undefined ? JSON.stringify(req.json) : undefined), signal: req.signal },
    req.timeoutMs ?? TIMEOUT_MS,
  );
  const rateLimit = readRateLimit(res.headers);
  // X's errors are classified by status when the body says nothing (a proxy's HTML 429).
  const body = await readPlatformJson('X', res, { statusSays: true, empty: {} });
  if (res.ok) return { body: body as T, rateLimit };
  const resetSeconds = rateLimit.resetAtMs !== undefined ? rateLimit.resetAtMs / 1000 : undefined;
  throw classifyXError(res.status, body as XErrorBody | undefined, resetSeconds);
}

export function readRateLimit(headers: Headers): XRateLimit {
  const num = (name: string) => {
    const v = headers.get(name);
    const n = v === null ? NaN : Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const reset = num('x-rate-limit-reset');
  return { limit: num('x-rate-limit-limit'), remaining: num('x-rate-limit-remaining'), resetAtMs: reset === undefined ? undefined : reset * 1000 };
}


/** Whose account the credentials act for (GET /2/users/me): the cheapest call they must be good for. */
export async function whoAmI(baseUrl: string, cfg: XConfig): Promise<{ platformAccountId: string; account: string }> {
  const { body } = await callXApi<{ data: { id: string; username?: string } }>(baseUrl, cfg, { method: 'GET', path: '/2/users/me' });
  return { platformAccountId: body.data.id, account: body.data.username ? `@${body.data.username}` : body.data.id };
}
