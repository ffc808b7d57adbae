import Router from '@koa/router';
import { z } from 'zod';
import { adapterFor } from '../channels';
import { CHANNEL_DISPLAY_NAMES, CHANNEL_TYPES } from '../channels/types';
import type { Plan } from '../plans';
import { PLAN_LIMITS } from '../plans';
import type { AppDeps, AuthState } from './context';

/** The cheapest plan that allows a channel type, for "upgrade to …" where it is locked. */
const cheapestPlanFor = (type: string): Plan | null =>
  (['free', 'mini', 'pro'] as const).find((p) => (PLAN_LIMITS[p].channelTypes as readonly string[]).includes(type)) ?? null;

/**
 * GET /api/channel-types: what can be connected, for the dashboard's "connect a channel"
 * forms: each type's config as JSON Schema (from the zod schema that validates it), its
 * secret fields, what the user does on the platform's side, and whether the plan allows it.
 */
export function channelTypeRoutes(deps: AppDeps): Router<AuthState> {
  const router = new Router<AuthState>();
  router.get('/channel-types', async (ctx) => {
    const account = await deps.db('accounts').where({ id: ctx.state.accountId }).first('plan');
    const plan = account.plan as Plan;
    const active = Number((await deps.db('channels').where({ account_id: ctx.state.accountId, is_active: true }).count({ n: '*' }).first())?.n ?? 0);
    const limits = PLAN_LIMITS[plan];
    ctx.body = {
      plan,
      usage: { active_channels: active, max_active_channels: limits.maxChannels },
      data: CHANNEL_TYPES.map((type) => {
        const adapter = adapterFor(type);
        const typeAllowed = (limits.channelTypes as readonly string[]).includes(type);
        const blocked = !typeAllowed
          ? `the ${plan} plan does not include ${CHANNEL_DISPLAY_NAMES[type]}; the ${cheapestPlanFor(type)} plan does`
          : active >= limits.maxChannels
            ? `the ${plan} plan allows ${limits.maxChannels} active channel${limits.maxChannels === 1 ? '' : 's'}; deactivate one or upgrade`
            : null;
        return {
          type,
          display_name: CHANNEL_DISPLAY_NAMES[type],
          setup: adapter.setup,
          instructions: adapter.instructions,
          allowed: blocked === null,
          blocked_reason: blocked,
          plan_needed: typeAllowed ? null : cheapestPlanFor(type),
          secret_fields: adapter.secretFields,
          config_schema: z.toJSONSchema(adapter.config, { io: 'input', unrepresentable: 'any' }),
        };
      }),
    };
  });
  return router;
}
