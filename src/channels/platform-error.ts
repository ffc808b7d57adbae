/**
 * How a platform call failed, decided where the platform's answer is read:
 * - rate_limited: retry, after `retryAfterMs` when the platform says how long;
 * - unavailable: 5xx, timeouts, network errors: retry with backoff;
 * - rejected: the platform refused this message for good (blocked, chat gone, bad request);
 * - auth: the channel's credentials are bad; nothing will succeed until they change.
 */
export type PlatformErrorKind = 'rate_limited' | 'unavailable' | 'rejected' | 'auth';

export class PlatformError extends Error {
  constructor(
    readonly kind: PlatformErrorKind,
    message: string,
    readonly details: {
      status?: number;
      platformCode?: string | number;
      retryAfterMs?: number;
      /** Known not to have reached the customer (a refusal before the call, a stop between parts): no doubt about a resend. */
      nothingSent?: boolean;
    } = {},
  ) {
    super(message);
    this.name = 'PlatformError';
  }

  get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'unavailable';
  }
}
