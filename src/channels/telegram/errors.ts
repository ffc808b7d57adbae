import { PlatformError, PlatformErrorKind } from '../platform-error';

/**
 * Telegram answers errors as {"ok":false,"error_code":N,"description","parameters"?}
 * with the HTTP status equal to error_code (core.telegram.org/bots/api#making-requests).
 * Classification (fixtures in shared/fixtures/platforms/telegram/error-*.json):
 */
const BY_CODE: Record<number, PlatformErrorKind> = {
  400: 'rejected', // "Bad Request: chat not found", "message is too long", group migrated …
  401: 'auth', // "Unauthorized": token revoked or wrong
  403: 'rejected', // "Forbidden: bot was blocked by the user"
  404: 'auth', // "Not Found": the token is not a bot's (wrong path to the Bot API)
  409: 'rejected', // "Conflict": e.g. getUpdates while a webhook is set
  429: 'rate_limited', // parameters.retry_after: seconds before *that* request may be repeated
};

export interface TelegramErrorBody {
  ok: false;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

export function classifyTelegramError(httpStatus: number, body: TelegramErrorBody | undefined): PlatformError {
  const code = body?.error_code ?? httpStatus;
  const description = body?.description ?? `HTTP ${httpStatus}`;
  const kind: PlatformErrorKind = BY_CODE[code] ?? (code >= 500 ? 'unavailable' : 'rejected');
  const retryAfter = body?.parameters?.retry_after;
  return new PlatformError(kind, description, {
    status: httpStatus,
    platformCode: code,
    retryAfterMs: kind === 'rate_limited' && typeof retryAfter === 'number' ? retryAfter * 1000 : undefined,
  });
}
