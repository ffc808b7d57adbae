import Router from '@koa/router';
import { z } from 'zod';
import { adapterFor } from '../channels';
import { CHANNEL_DISPLAY_NAMES, CHANNEL_TYPES, channelTypeSchema } from '../channels/types';
import { PLAN_LIMITS, planSchema, type Plan } from '../plans';
import type { AppDeps, AuthState } from './context';

/** One channel type as the "connect a channel" forms need it. */
export const channelTypeInfoSchema = z.object({
  type: channelTypeSchema,
  display_name: z.string(),
  setup: z.enum(['api', 'console', 'none']).describe('api: PingBack registers with the platform; console: paste callback_url and verify_token into its settings; none'),
  /** Where to paste what, in a line. */
  instructions: z.string(),
  /** Whether the plan lets the account connect (or reactivate) one now. */
  allowed: z.boolean(),
  blocked_reason: z.string().nullable(),
  /** The cheapest plan that includes the type, when the account's does not. */
  plan_needed: planSchema.nullable(),
  /** Config fields that are secrets: masked when the channel is shown. */
  secret_fields: z.array(z.string()),
  config_schema: z.record(z.string(), z.unknown()).describe('The config as JSON Schema, from the zod schema that validates it'),
});
export type ChannelTypeInfo = z.infer<typeof channelTypeInfoSchema>;
/** GET /api/channel-types. */
export const channelTypesSchema = z.object({
  plan: planSchema,
  usage: z.object({ active_channels: z.number().int(), max_active_channels: z.number().int() }),
  data: z.array(channelTypeInfoSchema),
});

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
          secret_fields: [...adapter.secretFields],
          config_schema: z.toJSONSchema(adapter.config, { io: 'input', unrepresentable: 'any' }),
        };
      }),
    } satisfies z.infer<typeof channelTypesSchema>;
  });
  return router;
}
