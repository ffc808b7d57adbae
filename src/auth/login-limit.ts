import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Db } from '../db/knex';
import { AppError } from '../errors';

const WINDOW_SECONDS = 15 * 60;

/**
 * Sign-in attempts counted per email and per client address, in PostgreSQL (the login_limits
 * table), so the limit holds however many api processes answer. An attempt is counted before
 * its password is checked: attempts sent in parallel cannot all slip past a count that only
 * grows afterwards. A success gives its points back, so only failures use the allowance (and a
 * success clears its email's count); an address's count otherwise only runs out, so one address
 * cannot try many emails.
 */
export class LoginLimit {
  private readonly byEmail: RateLimiterPostgres;
  private readonly byAddress: RateLimiterPostgres;

  constructor(db: Db, limits: { perEmail: number; perAddress: number }) {
    const common = { storeClient: db, storeType: 'knex', tableName: 'login_limits', tableCreated: true, duration: WINDOW_SECONDS };
    this.byEmail = new RateLimiterPostgres({ ...common, keyPrefix: 'email', points: limits.perEmail });
    this.byAddress = new RateLimiterPostgres({ ...common, keyPrefix: 'addr', points: limits.perAddress });
  }

  /** Counts the attempt; 429 (with the wait) when either allowance is spent, before any password is checked. */
  async attempt(email: string, address: string): Promise<void> {
    const [e, a] = await Promise.allSettled([this.byEmail.consume(email), this.byAddress.consume(address)]);
    const refused = [e, a].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
    if (refused.length === 0) return;
    for (const why of refused) if (!(why instanceof RateLimiterRes)) throw why;
    throw tooManyAttempts(Math.max(...refused.map((r: RateLimiterRes) => r.msBeforeNext)));
  }

  async succeeded(email: string, address: string): Promise<void> {
    await Promise.all([this.byEmail.delete(email), this.byAddress.reward(address, 1)]);
  }
}

export function tooManyAttempts(waitMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new AppError(429, 'too_many_attempts', `too many failed sign-ins; try again in ${Math.ceil(seconds / 60)} minute${seconds > 60 ? 's' : ''}`, {
    retry_after_seconds: seconds,
  });
}
