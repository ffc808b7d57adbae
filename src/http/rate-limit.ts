import ipaddr from 'ipaddr.js';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Db } from '../db/knex';

/**
 * A limit on a public endpoint, counted in PostgreSQL (the rate_limits table) so it holds
 * however many api processes answer. A key over its allowance is also refused from this
 * process's memory for the rest of the window, so a flood costs no database write per request.
 */
export class RateLimiter {
  private readonly limiter: RateLimiterPostgres;

  constructor(db: Db, opts: { name: string; perMinute: number }) {
    this.limiter = new RateLimiterPostgres({
      storeClient: db,
      storeType: 'knex',
      tableName: 'rate_limits',
      tableCreated: true,
      keyPrefix: opts.name,
      points: opts.perMinute,
      duration: 60,
      inMemoryBlockOnConsumed: opts.perMinute + 1,
      inMemoryBlockDuration: 60,
    });
  }

  /** Counts one hit for `key`: 0 when allowed, else the milliseconds until it is allowed again. */
  async take(key: string): Promise<number> {
    try {
      await this.limiter.consume(key);
      return 0;
    } catch (err) {
      if (err instanceof RateLimiterRes) return Math.max(1, err.msBeforeNext);
      throw err;
    }
  }
}

/**
 * Whom an address belongs to, for limits: an IPv6 address by its /64 (one customer line gets a
 * whole /64, and a script can rotate through it), an IPv4 one (or IPv4 mapped into IPv6) as it is.
 */
export function addressKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const addr = ipaddr.process(ip);
  if (addr.kind() === 'ipv4') return addr.toString();
  return `${(addr as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`;
}
