import Router from '@koa/router';
import { z } from 'zod';
import { accountSummary, createAccount, issueApiKey, planSchema, setPlan } from '../db/accounts';
import { isUuid } from '../db/ids';
import { AppError, notFound } from '../errors';
import { emailSchema, userNameSchema } from '../db/users';
import { readJsonBody } from '../http/body';
import { requireAdmin } from './auth';
import type { AppDeps } from './context';
import { validate } from './validate';

export const createAccountSchema = z.object({
  name: z.string().trim().min(1).max(200),
  plan: planSchema.default('free'),
  /** The account's first admin: created with a link to set their password (admin_set_password_url). */
  admin_email: emailSchema.optional(),
  admin_name: userNameSchema.optional(),
});
export const updateAccountSchema = z
  .object({ name: z.string().trim().min(1).max(200).optional(), plan: planSchema.optional() })
  .strict()
  .refine((v) => v.name !== undefined || v.plan !== undefined, 'give name or plan');
export const createApiKeySchema = z.object({ name: z.string().trim().min(1).max(100).default('default') }).strict();

/** POST /admin/accounts: the account, its first API key (shown once) and, given admin_email, its first admin's link to set a password. */
export const createdAccountSchema = z.object({
  account_id: z.uuid(),
  name: z.string(),
  plan: planSchema,
  api_key: z.string().describe('pb_…: shown once, stored hashed'),
  admin_user_id: z.uuid().optional(),
  admin_set_password_url: z.string().optional().describe('Single use'),
  admin_set_password_expires_at: z.string().optional().describe('ISO 8601 time'),
});
type CreatedAccount = z.infer<typeof createdAccountSchema>;

/** Operator routes, guarded by PINGBACK_ADMIN_TOKEN. */
export function adminRoutes(deps: AppDeps): Router {
  const router = new Router({ prefix: '/admin' });
  router.use(requireAdmin(deps));
  const accountId = (id: string) => {
    if (!isUuid(id)) throw notFound('account');
    return id;
  };

  router.post('/accounts', async (ctx) => {
    const input = validate(createAccountSchema, (await readJsonBody(ctx)).json);
    if (input.admin_name && !input.admin_email) {
      throw new AppError(422, 'validation_failed', 'admin_name needs admin_email', { fields: [{ path: 'admin_email', message: 'required with admin_name' }] });
    }
    const admin = input.admin_email ? { email: input.admin_email, name: input.admin_name } : undefined;
    const { account, apiKey, admin: created } = await createAccount(deps.db, { name: input.name, plan: input.plan, admin }, deps.config.PUBLIC_BASE_URL);
    deps.log.info('account created', { account_id: account.id, plan: account.plan });
    ctx.status = 201;
    ctx.body = {
      account_id: account.id,
      name: account.name,
      plan: account.plan,
      api_key: apiKey,
      ...(created ? { admin_user_id: created.user.id, admin_set_password_url: created.setPasswordUrl, admin_set_password_expires_at: created.expiresAt.toISOString() } : {}),
    } satisfies CreatedAccount;
  });

  router.get('/accounts/:id', async (ctx) => {
    ctx.body = await accountSummary(deps.db, accountId(ctx.params.id));
  });

  router.patch('/accounts/:id', async (ctx) => {
    const id = accountId(ctx.params.id);
    const input = validate(updateAccountSchema, (await readJsonBody(ctx)).json);
    if (input.plan) await setPlan(deps.db, id, input.plan);
    if (input.name) {
      const n = await deps.db('accounts').where({ id }).update({ name: input.name, updated_at: deps.db.fn.now() });
      if (!n) throw notFound('account');
    }
    deps.log.info('account updated', { account_id: id, plan: input.plan });
    ctx.body = await accountSummary(deps.db, id);
  });

  router.post('/accounts/:id/api-keys', async (ctx) => {
    const id = accountId(ctx.params.id);
    const input = validate(createApiKeySchema, (await readJsonBody(ctx)).json);
    if (!(await deps.db('accounts').where({ id }).first('id'))) throw notFound('account');
    const issued = await issueApiKey(deps.db, id, input.name);
    ctx.status = 201;
    ctx.body = issued;
  });

  return router;
}
