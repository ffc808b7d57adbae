import { PlatformError } from './platform-error';

/**
 * One HTTP request to a platform, for every platform client (Telegram's Bot API, Meta's
 * Graph API, X's API v2): a timeout, joined with the caller's abort signal (an activity being
 * cancelled); a network failure classified as `unavailable`. No message here includes the
 * URL: Telegram's holds the bot token.
 */
export async function platformFetch(platform: string, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    return await fetch(url, { ...init, signal: init.signal ? AbortSignal.any([timeout, init.signal]) : timeout });
  } catch (err) {
    throw new PlatformError('unavailable', `${platform} unreachable: ${describeNetworkError(err, timeoutMs)}`);
  }
}

/**
 * A platform's answer as JSON. Proxies and load balancers answer HTML during outages, so a
 * 5xx without JSON is an outage, and a 2xx without JSON the platform misbehaving (retried);
 * a 4xx without JSON is a refusal, or, for a client that classifies by status alone
 * (`statusSays`), undefined for it to classify. `empty`: what an empty body stands for, on
 * platforms that send none on success.
 */
export async function readPlatformJson(platform: string, res: Response, opts: { statusSays?: boolean; empty?: unknown } = {}): Promise<unknown> {
  // The connection can still fail (or time out) while the body arrives.
  const text = await res.text().catch((err: unknown) => {
    throw new PlatformError('unavailable', `${platform}'s answer broke off: ${describeNetworkError(err)}`, { status: res.status });
  });
  if (text === '' && opts.empty !== undefined) return opts.empty;
  try {
    return JSON.parse(text);
  } catch {
    const outage = res.ok || res.status >= 500;
    if (!outage && opts.statusSays) return undefined;
    throw new PlatformError(outage ? 'unavailable' : 'rejected', `${platform} answered HTTP ${res.status} without JSON`, { status: res.status });
  }
}

/** What fetch's network failure was (ECONNREFUSED, ENOTFOUND …), without the URL, which may hold a token. */
function describeNetworkError(err: unknown, timeoutMs?: number): string {
  if ((err as Error).name === 'TimeoutError') return timeoutMs === undefined ? 'timed out' : `no answer in ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
