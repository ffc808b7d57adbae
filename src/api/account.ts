import Router from '@koa/router';
import { accountSummary, issueApiKey, listApiKeys } from '../db/accounts';
import { isUuid } from '../db/ids';
import { notFound } from '../errors';
import { readJsonBody } from '../http/body';
import { createApiKeySchema } from './admin';
import { adminOnly } from './auth';
import type { AppDeps, AuthState } from './context';
import { validate } from './validate';

/** The caller's own account: plan, limits, usage, and its API keys. */
export function accountRoutes(deps: AppDeps): Router<AuthState> {
  const router = new Router<AuthState>();
  const { db } = deps;

  router.get('/account', adminOnly, async (ctx) => {
    ctx.body = await accountSummary(db, ctx.state.accountId);
  });

  router.get('/api-keys', adminOnly, async (ctx) => {
    ctx.body = { data: await listApiKeys(db, ctx.state.accountId) };
  });

  router.post('/api-keys', adminOnly, async (ctx) => {
    const input = validate(createApiKeySchema, (await readJsonBody(ctx)).json);
    const issued = await issueApiKey(db, ctx.state.accountId, input.name);
    ctx.status = 201;
    ctx.body = issued;
  });

  router.delete('/api-keys/:id', adminOnly, async (ctx) => {
    const id = ctx.params.id;
    const n = isUuid(id)
      ? await db('api_keys').where({ id, account_id: ctx.state.accountId }).whereNull('revoked_at').update({ revoked_at: db.fn.now() })
      : 0;
    if (!n) throw notFound('API key');
    ctx.status = 204;
  });

  return router;
}
