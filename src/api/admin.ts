import Router from '@koa/router';
import { z } from 'zod';
import { createAccount, planSchema } from '../db/accounts';
import { readJsonBody } from '../http/body';
import { requireAdmin } from './auth';
import type { AppDeps } from './context';
import { validate } from './validate';

export const createAccountSchema = z.object({
  name: z.string().trim().min(1).max(200),
  plan: planSchema.default('free'),
});

/** Operator routes, guarded by PINGBACK_ADMIN_TOKEN. */
export function adminRoutes(deps: AppDeps): Router {
  const router = new Router({ prefix: '/admin' });
  router.use(requireAdmin(deps));

  router.post('/accounts', async (ctx) => {
    const input = validate(createAccountSchema, (await readJsonBody(ctx)).json);
    const { account, apiKey } = await createAccount(deps.db, input);
    deps.log.info('account created', { account_id: account.id, plan: account.plan });
    ctx.status = 201;
    ctx.body = { account_id: account.id, name: account.name, plan: account.plan, api_key: apiKey };
  });

  return router;
}
