import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE } from '@opentelemetry/semantic-conventions';
import { PlatformError } from './platform-error';
import type { MediaDownload } from './types';

const tracer = trace.getTracer('pingback-platforms');

/**
 * One HTTP request to a platform, for every platform client (Telegram's Bot API, Meta's
 * Graph API, X's API v2): a timeout, joined with the caller's abort signal (an activity being
 * cancelled); a network failure classified as `unavailable`. No message here includes the
 * URL: Telegram's holds the bot token.
 *
 * With traces on, each call is a `platform.request` span (a child of the activity attempt that
 * makes it) with the platform's name, the method and the answer's HTTP status, until the answer's
 * headers; never the URL, for the same reason.
 */
export async function platformFetch(platform: string, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  return tracer.startActiveSpan('platform.request', { kind: SpanKind.CLIENT, attributes: { 'pingback.platform': platform, [ATTR_HTTP_REQUEST_METHOD]: method } }, async (span) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const res = await fetch(url, { ...init, signal: init.signal ? AbortSignal.any([timeout, init.signal]) : timeout });
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.status);
      if (res.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${res.status}` }).setAttribute(ATTR_ERROR_TYPE, String(res.status));
      return res;
    } catch (err) {
      const failure = new PlatformError('unavailable', `${platform} unreachable: ${describeNetworkError(err, timeoutMs)}`);
      span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message }).setAttribute(ATTR_ERROR_TYPE, (err as Error).name === 'TimeoutError' ? 'timeout' : 'unavailable');
      throw failure;
    } finally {
      span.end();
    }
  });
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

/** A platform's file answer (status checked by the caller) as PingBack streams it on: its body, type and length when said. */
export function streamedMedia(res: Response): MediaDownload {
  const length = Number(res.headers.get('content-length'));
  return {
    body: res.body as ReadableStream<Uint8Array>,
    contentType: res.headers.get('content-type') ?? 'application/octet-stream',
    contentLength: Number.isFinite(length) && length > 0 ? length : undefined,
  };
}
