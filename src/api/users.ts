import Router from '@koa/router';
import { z } from 'zod';
import { endUserSessions } from '../auth/sessions';
import { isUuid } from '../db/ids';
import type { Db } from '../db/knex';
import { createUser, emailSchema, issuePasswordLink, presentUser, roleSchema, USER_COLUMNS, userNameSchema, userSchema, type UserRow } from '../db/users';
import { AppError, notFound } from '../errors';
import { readJsonBody } from '../http/body';
import { PLAN_LIMITS } from '../plans';
import type { Plan } from '../plans';
import { adminOnly } from './auth';
import type { AppDeps, AuthState } from './context';
import type { Me } from '../inbox/schemas';
import { validate } from './validate';

export const inviteUserSchema = z.object({ email: emailSchema, name: userNameSchema, role: roleSchema.default('agent') }).strict();
export const updateUserSchema = z
  .object({ name: userNameSchema.optional(), role: roleSchema.optional(), disabled: z.boolean().optional() })
  .strict()
  .refine((v) => v.name !== undefined || v.role !== undefined || v.disabled !== undefined, 'give name, role or disabled');

/** POST /api/users/invitations: the user, invited, and the single-use link to pass on to them. */
export const invitationSchema = z.object({ user: userSchema, invitation_url: z.string(), expires_at: z.string().describe('ISO 8601 time') });
/** POST /api/users/{id}/password-reset: a single-use link to set a new password (a new invitation for a user who never set one). */
export const passwordLinkSchema = z.object({ reset_url: z.string(), expires_at: z.string().describe('ISO 8601 time') });

/** The people of the account: who is signed in (/me), the team, invitations and password links. */
export function userRoutes(deps: AppDeps): Router<AuthState> {
  const { db, config } = deps;
  const router = new Router<AuthState>();

  router.get('/me', async (ctx) => {
    const account = await db('accounts').where({ id: ctx.state.accountId }).first('id', 'name', 'plan');
    const limits = PLAN_LIMITS[account.plan as Plan];
    const p = ctx.state.principal;
    ctx.body = {
      auth: p.kind === 'user' ? ('session' as const) : ('api_key' as const),
      role: ctx.state.role,
      user: p.kind === 'user' ? { id: p.userId, email: p.email, name: p.name, role: ctx.state.role } : null,
      api_key: p.kind === 'api_key' ? { id: p.keyId, name: p.name } : null,
      // Sent back as X-CSRF-Token with every change the session makes.
      csrf_token: p.kind === 'user' ? p.csrfToken : null,
      account: {
        id: account.id,
        name: account.name,
        plan: account.plan,
        limits: { max_active_channels: limits.maxChannels, channel_types: [...limits.channelTypes], max_stored_bytes: limits.maxStoredBytes },
      },
      // Where an admin opens a conversation's workflow: {temporal_ui_url}/namespaces/{namespace}/workflows/{workflow_id}.
      temporal_ui:
        ctx.state.role === 'admin' && config.TEMPORAL_UI_URL ? { url: config.TEMPORAL_UI_URL.replace(/\/$/, ''), namespace: config.TEMPORAL_NAMESPACE } : null,
    } satisfies Me;
  });

  // Every member may read the team: agents assign conversations to one another.
  router.get('/users', async (ctx) => {
    const rows: UserRow[] = await db('users').where({ account_id: ctx.state.accountId }).orderBy('created_at').select(USER_COLUMNS);
    ctx.body = { data: rows.map(presentUser) };
  });

  router.post('/users/invitations', adminOnly, async (ctx) => {
    const input = validate(inviteUserSchema, (await readJsonBody(ctx)).json);
    const { user, link } = await db.transaction(async (trx) => {
      const user = await createUser(trx, { accountId: ctx.state.accountId, ...input });
      return { user, link: await issuePasswordLink(trx, user.id, 'invitation', config.PUBLIC_BASE_URL) };
    });
    deps.log.info('user invited', { user_id: user.id, role: user.role });
    ctx.status = 201;
    ctx.body = { user: presentUser(user), invitation_url: link.url, expires_at: link.expires_at.toISOString() } satisfies z.infer<typeof invitationSchema>;
  });

  router.patch('/users/:id', adminOnly, async (ctx) => {
    const input = validate(updateUserSchema, (await readJsonBody(ctx)).json);
    const id = ctx.params.id;
    const updated = await db.transaction(async (trx) => {
      // The account's users locked together: two admins demoting each other at once cannot leave none.
      const users: UserRow[] = await trx('users').where({ account_id: ctx.state.accountId }).orderBy('id').forUpdate().select(USER_COLUMNS);
      const user = isUuid(id) ? users.find((u) => u.id === id) : undefined;
      if (!user) throw notFound('user');
      const next = {
        role: input.role ?? user.role,
        disabled_at: input.disabled === undefined ? user.disabled_at : input.disabled ? (user.disabled_at ?? new Date()) : null,
      };
      const admins = users.filter((u) => u.role === 'admin' && !u.disabled_at && u.id !== user.id);
      if ((next.role !== 'admin' || next.disabled_at) && user.role === 'admin' && !user.disabled_at && admins.length === 0) {
        throw new AppError(409, 'last_admin', 'the account needs an admin: make someone else an admin first');
      }
      const [row] = await trx('users')
        .where({ id: user.id })
        .update({ ...next, ...(input.name ? { name: input.name } : {}), updated_at: trx.fn.now() })
        .returning([...USER_COLUMNS]);
      // Disabled means signed out everywhere, now.
      if (next.disabled_at && !user.disabled_at) await endUserSessions(trx, user.id);
      return row as UserRow;
    });
    deps.log.info('user updated', { user_id: updated.id, role: updated.role, disabled: !!updated.disabled_at });
    ctx.body = presentUser(updated);
  });

  router.post('/users/:id/password-reset', adminOnly, async (ctx) => {
    const user = await findUser(db, ctx.state.accountId, ctx.params.id);
    if (user.disabled_at) throw new AppError(409, 'user_disabled', 'this user is disabled; enable them first');
    // A user who never set a password gets a fresh invitation.
    const link = await issuePasswordLink(db, user.id, user.password_hash ? 'password_reset' : 'invitation', config.PUBLIC_BASE_URL);
    ctx.status = 201;
    ctx.body = { reset_url: link.url, expires_at: link.expires_at.toISOString() } satisfies z.infer<typeof passwordLinkSchema>;
  });

  return router;
}

async function findUser(db: Db, accountId: string, id: string): Promise<UserRow> {
  const user = isUuid(id) ? await db('users').where({ id, account_id: accountId }).first(USER_COLUMNS) : undefined;
  if (!user) throw notFound('user');
  return user;
}
