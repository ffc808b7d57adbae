import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { LoginLimit } from '../auth/login-limit';
import { hashPassword, passwordSchema, verifyPassword } from '../auth/passwords';
import { endSessionByToken, endUserSessions, SESSION_COOKIE, startSession } from '../auth/sessions';
import { emailSchema, redeemPasswordLink } from '../db/users';
import { AppError } from '../errors';
import { readJsonBody } from '../http/body';
import { authenticate, requireAllowedOrigin } from './auth';
import type { AppDeps, AuthState } from './context';
import { validate } from './validate';

export const loginSchema = z.object({ email: emailSchema, password: z.string().min(1).max(1024) }).strict();
export const setPasswordSchema = z.object({ token: z.string().min(1).max(200), password: passwordSchema }).strict();

/** Sign-in, sign-out and password links: the dashboard's way in (/auth). */
export function sessionRoutes(deps: AppDeps): Router<AuthState> {
  const { db, config } = deps;
  const router = new Router<AuthState>({ prefix: '/auth' });
  const limit = new LoginLimit(db, { perEmail: config.LOGIN_ATTEMPTS_PER_EMAIL, perAddress: config.LOGIN_ATTEMPTS_PER_ADDRESS });
  const secure = new URL(config.PUBLIC_BASE_URL).protocol === 'https:';
  const setCookie = (ctx: Context, value: string | null, expires?: Date) => {
    // Behind a TLS-terminating proxy the api itself may be reached over http: the public URL decides.
    ctx.cookies.secure = ctx.cookies.secure || secure;
    ctx.cookies.set(SESSION_COOKIE, value, { httpOnly: true, sameSite: 'lax', secure, path: '/', expires, overwrite: true });
  };

  router.post('/login', async (ctx) => {
    // A login started by another site's page would sign the visitor into the attacker's account.
    requireAllowedOrigin(ctx, deps, { optional: true });
    const input = validate(loginSchema, (await readJsonBody(ctx, 16 * 1024)).json);
    try {
      await limit.attempt(input.email, ctx.ip);
    } catch (err) {
      if (err instanceof AppError) ctx.set('Retry-After', String((err.details as { retry_after_seconds: number }).retry_after_seconds));
      throw err;
    }
    const user = await db('users').whereRaw('lower(email) = ?', [input.email]).first('id', 'password_hash', 'disabled_at');
    // The password is checked whoever the email belongs to (or nobody): every refusal takes as long.
    const passwordOk = await verifyPassword(user?.password_hash, input.password);
    if (!user || !passwordOk || user.disabled_at) throw new AppError(401, 'invalid_credentials', 'the email or the password is wrong');
    await limit.succeeded(input.email, ctx.ip);
    const session = await startSession(db, user.id, { idleHours: config.SESSION_IDLE_HOURS, maxDays: config.SESSION_MAX_DAYS }, {
      ip: ctx.ip,
      userAgent: ctx.get('user-agent'),
    });
    setCookie(ctx, session.token, session.expiresAt);
    deps.log.info('user signed in', { user_id: user.id });
    ctx.status = 204;
  });

  // Signing out is harmless to force, but still only from PingBack's own pages.
  router.post('/logout', async (ctx) => {
    requireAllowedOrigin(ctx, deps, { optional: true });
    const token = ctx.cookies.get(SESSION_COOKIE);
    if (token) await endSessionByToken(db, token);
    setCookie(ctx, null);
    ctx.status = 204;
  });

  router.post('/logout-all', authenticate(deps), async (ctx) => {
    const p = ctx.state.principal;
    if (p.kind !== 'user') throw new AppError(400, 'not_a_session', 'logout-all ends a signed-in user\'s sessions; an API key has none');
    await endUserSessions(db, p.userId);
    setCookie(ctx, null);
    ctx.status = 204;
  });

  router.post('/set-password', async (ctx) => {
    requireAllowedOrigin(ctx, deps, { optional: true });
    const input = validate(setPasswordSchema, (await readJsonBody(ctx, 16 * 1024)).json);
    const userId = await redeemPasswordLink(db, input.token, await hashPassword(input.password));
    deps.log.info('password set', { user_id: userId });
    ctx.status = 204;
  });

  return router;
}
