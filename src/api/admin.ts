import Router from '@koa/router';
import { z } from 'zod';
import { accountSummary, createAccount, issueApiKey, planSchema, setPlan } from '../db/accounts';
import { isUuid } from '../db/ids';
import { notFound } from '../errors';
import { readJsonBody } from '../http/body';
import { requireAdmin } from './auth';
import type { AppDeps } from './context';
import { validate } from './validate';

export const createAccountSchema = z.object({
  name: z.string().trim().min(1).max(200),
  plan: planSchema.default('free'),
});
export const updateAccountSchema = z
  .object({ name: z.string().trim().min(1).max(200).optional(), plan: planSchema.optional() })
  .strict()
  .refine((v) => v.name !== undefined || v.plan !== undefined, 'give name or plan');
export const createApiKeySchema = z.object({ name: z.string().trim().min(1).max(100).default('default') }).strict();

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
    const { account, apiKey } = await createAccount(deps.db, input);
    deps.log.info('account created', { account_id: account.id, plan: account.plan });
    ctx.status = 201;
    ctx.body = { account_id: account.id, name: account.name, plan: account.plan, api_key: apiKey };
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
    const { key, row } = await issueApiKey(deps.db, id, input.name);
    ctx.status = 201;
    ctx.body = { ...row, api_key: key };
  });

  return router;
}
