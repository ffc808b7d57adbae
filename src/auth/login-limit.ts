import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Db } from '../db/knex';
import { AppError } from '../errors';

const WINDOW_SECONDS = 15 * 60;

/**
 * Failed sign-ins counted per email and per client address, in PostgreSQL (the
 * login_limits table), so the limit holds however many api processes answer. A success
 * clears its email's count; an address's count only runs out, so one address cannot try
 * many emails.
 */
export class LoginLimit {
  private readonly byEmail: RateLimiterPostgres;
  private readonly byAddress: RateLimiterPostgres;

  constructor(db: Db, limits: { perEmail: number; perAddress: number }) {
    const common = { storeClient: db, storeType: 'knex', tableName: 'login_limits', tableCreated: true, duration: WINDOW_SECONDS };
    this.byEmail = new RateLimiterPostgres({ ...common, keyPrefix: 'email', points: limits.perEmail });
    this.byAddress = new RateLimiterPostgres({ ...common, keyPrefix: 'addr', points: limits.perAddress });
  }

  /** 429 with Retry-After when either count is spent: checked before the password is. */
  async check(email: string, address: string): Promise<void> {
    const [e, a] = await Promise.all([this.byEmail.get(email), this.byAddress.get(address)]);
    const blocked = [
      [e, this.byEmail.points],
      [a, this.byAddress.points],
    ].filter(([res, points]) => res && (res as RateLimiterRes).consumedPoints >= (points as number)) as Array<[RateLimiterRes, number]>;
    if (blocked.length === 0) return;
    const waitMs = Math.max(...blocked.map(([res]) => res.msBeforeNext));
    throw tooManyAttempts(waitMs);
  }

  async failed(email: string, address: string): Promise<void> {
    // Consuming past the limit rejects with the limiter's answer; the count is kept all the same.
    await Promise.all([this.byEmail.consume(email).catch(settled), this.byAddress.consume(address).catch(settled)]);
  }

  async succeeded(email: string): Promise<void> {
    await this.byEmail.delete(email);
  }
}

function settled(err: unknown): void {
  if (!(err instanceof RateLimiterRes)) throw err;
}

export function tooManyAttempts(waitMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new AppError(429, 'too_many_attempts', `too many failed sign-ins; try again in ${Math.ceil(seconds / 60)} minute${seconds > 60 ? 's' : ''}`, {
    retry_after_seconds: seconds,
  });
}
