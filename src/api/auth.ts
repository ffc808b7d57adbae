import { timingSafeEqual, createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import { accountForApiKey } from '../db/accounts';
import { AppError, unauthorized } from '../errors';
import type { AppDeps, AuthState } from './context';

function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m?.[1];
}

/** Compares secrets in constant time (hashing first makes the lengths equal). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** `Authorization: Bearer <api key>`; every /api route then sees only its account's data. */
export function requireApiKey({ db }: AppDeps): Middleware<AuthState> {
  return async (ctx, next) => {
    const key = bearer(ctx.get('authorization'));
    if (!key) throw unauthorized('send your API key as "Authorization: Bearer <key>"');
    const account = await accountForApiKey(db, key);
    if (!account) throw unauthorized('the API key is unknown or revoked');
    ctx.state.accountId = account.id;
    // At most one write a minute per key, off the request's path.
    void db('api_keys')
      .where({ id: account.key_id })
      .andWhere((q) => q.whereNull('last_used_at').orWhere('last_used_at', '<', db.raw("now() - interval '1 minute'")))
      .update({ last_used_at: db.fn.now() })
      .catch(() => undefined);
    await next();
  };
}

export function requireAdmin({ config }: AppDeps): Middleware {
  return async (ctx, next) => {
    if (!config.PINGBACK_ADMIN_TOKEN) {
      throw new AppError(404, 'not_found', 'the admin API is disabled: set PINGBACK_ADMIN_TOKEN to enable it');
    }
    const token = bearer(ctx.get('authorization'));
    if (!token || !safeEqual(token, config.PINGBACK_ADMIN_TOKEN)) throw unauthorized('admin token missing or wrong');
    await next();
  };
}
