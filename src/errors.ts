/**
 * The one error shape the HTTP API speaks: {"error":{"code","message","details"?}}.
 * Codes are stable snake_case words clients branch on.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** What went wrong underneath: logged, never sent to the client. */
    readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string) => new AppError(404, 'not_found', `${what} not found`);
export const unauthorized = (message = 'missing or invalid credentials') =>
  new AppError(401, 'unauthorized', message);

/**
 * A refusal by PingBack's own rules, thrown where the rule is (src/db/, the inbox): the thing
 * is not there, conflicts with what is, is not allowed, or is not valid. Protocol-free: the
 * API answers it with the status of its kind (src/api/app.ts), the CLI prints its message.
 */
export type DomainErrorKind = 'invalid' | 'forbidden' | 'not_found' | 'conflict';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    /** A stable snake_case word clients branch on: `plan_limit_reached`, `email_taken`. */
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const HTTP_STATUS_OF: Record<DomainErrorKind, number> = { invalid: 400, forbidden: 403, not_found: 404, conflict: 409 };
