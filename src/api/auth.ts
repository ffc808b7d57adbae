import { safeEqual } from '../crypto/safe-equal';
import type { Context, Middleware } from 'koa';
import { accountForApiKey } from '../db/accounts';
import { SESSION_COOKIE, sessionUser } from '../auth/sessions';
import type { Role } from '../db/users';
import { AppError, unauthorized } from '../errors';
import type { AppDeps, AuthState } from './context';

function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m?.[1];
}


const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Who is asking, for every /api route: an integration with `Authorization: Bearer <api key>`
 * (no CSRF token: a browser never sends one on its own), or a signed-in user with the session
 * cookie, whose changes must also carry the session's X-CSRF-Token and come from an allowed
 * Origin. Every route then sees only its account's data.
 */
export function authenticate(deps: AppDeps): Middleware<AuthState> {
  const { db, config } = deps;
  const policy = { idleHours: config.SESSION_IDLE_HOURS, maxDays: config.SESSION_MAX_DAYS };
  return async (ctx, next) => {
    const key = bearer(ctx.get('authorization'));
    if (key) {
      const account = await accountForApiKey(db, key);
      if (!account) throw unauthorized('the API key is unknown or revoked');
      ctx.state.accountId = account.id;
      ctx.state.role = 'admin';
      ctx.state.principal = { kind: 'api_key', keyId: account.key_id, name: account.key_name };
      // At most one write a minute per key, off the request's path.
      void db('api_keys')
        .where({ id: account.key_id })
        .andWhere((q) => q.whereNull('last_used_at').orWhere('last_used_at', '<', db.raw("now() - interval '1 minute'")))
        .update({ last_used_at: db.fn.now() })
        .catch(() => undefined);
      return next();
    }
    const token = ctx.cookies.get(SESSION_COOKIE);
    const user = token ? await sessionUser(db, token, policy) : undefined;
    if (!user) {
      throw unauthorized(token ? 'your session has ended; sign in again' : 'sign in, or send an API key as "Authorization: Bearer <key>"');
    }
    if (!SAFE_METHODS.has(ctx.method)) {
      const sent = ctx.get('x-csrf-token');
      if (!sent || !safeEqual(sent, user.csrfToken)) {
        throw new AppError(403, 'csrf_failed', 'this change needs the X-CSRF-Token header with your session\'s token (GET /api/me gives it)');
      }
      requireAllowedOrigin(ctx, deps);
    }
    ctx.state.accountId = user.accountId;
    ctx.state.role = user.role;
    ctx.state.principal = { kind: 'user', userId: user.userId, sessionId: user.sessionId, name: user.name, email: user.email, csrfToken: user.csrfToken };
    return next();
  };
}

/**
 * The page asking is PingBack's own (the public URL's origin, or the origin the request came
 * in on) or one of ALLOWED_ORIGINS. A browser always sends Origin with a change; another
 * site's page cannot make it say PingBack's.
 */
export function requireAllowedOrigin(ctx: Context, deps: Pick<AppDeps, 'config'>, opts: { optional?: boolean } = {}): void {
  const origin = ctx.get('origin');
  if (!origin && opts.optional) return;
  // The origin the request came in on (ctx.origin is the Origin header itself in Koa 3).
  const own = `${ctx.protocol}://${ctx.host}`;
  const allowed = new Set([new URL(deps.config.PUBLIC_BASE_URL).origin, own, ...deps.config.ALLOWED_ORIGINS]);
  if (!origin || !allowed.has(origin)) {
    throw new AppError(403, 'csrf_failed', origin ? `requests from ${origin} may not make changes here` : 'a change made with a session must carry an Origin header');
  }
}

/** 403 forbidden unless the caller has the role (API keys act for the account, as an admin). */
export function requireRole(role: Role): Middleware<AuthState> {
  return async (ctx, next) => {
    if (role === 'admin' && ctx.state.role !== 'admin') throw new AppError(403, 'forbidden', 'only an admin of this account may do this');
    return next();
  };
}

export const adminOnly = requireRole('admin');

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
