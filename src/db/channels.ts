import type { ChannelType } from '../channels/types';
import type { ChannelStatus } from '../inbox/schemas';
import { DomainError } from '../errors';
import { PLAN_LIMITS } from '../plans';
import type { Plan } from './accounts';
import type { Db } from './knex';

export interface ChannelRow {
  id: string;
  account_id: string;
  type: ChannelType;
  name: string;
  config: Record<string, unknown>;
  is_active: boolean;
  status: ChannelStatus;
  reconnect_required_at: Date | null;
  status_message: string | null;
  webhook_secret: string;
  verify_token: string;
  created_at: Date;
  updated_at: Date;
}

/**
 * Checks the plan with the account row locked, so concurrent creates cannot
 * both see room for one more channel. Call inside the transaction that writes.
 */
export async function assertPlanAllows(trx: Db, accountId: string, type: ChannelType): Promise<void> {
  const account = await trx('accounts').where({ id: accountId }).forUpdate().first('plan');
  if (!account) throw new DomainError('not_found', 'not_found', 'account not found');
  const plan = account.plan as Plan;
  const limits = PLAN_LIMITS[plan];
  if (!limits.channelTypes.includes(type)) {
    const plans = (Object.keys(PLAN_LIMITS) as Plan[]).filter((p) => PLAN_LIMITS[p].channelTypes.includes(type));
    throw new DomainError('forbidden', 'channel_type_not_in_plan', `the ${plan} plan does not include ${type} channels; ${plans.join(' and ')} do`, {
      plan,
      channel_type: type,
      plans_allowing: plans,
    });
  }
  const [{ count }] = await trx('channels').where({ account_id: accountId, is_active: true }).count<{ count: string }[]>('* as count');
  if (Number(count) >= limits.maxChannels) {
    const upgrade = (Object.keys(PLAN_LIMITS) as Plan[]).find((p) => PLAN_LIMITS[p].maxChannels > limits.maxChannels);
    throw new DomainError('forbidden',
      'plan_limit_reached',
      `the ${plan} plan allows ${limits.maxChannels} active channel${limits.maxChannels === 1 ? '' : 's'}` +
        (upgrade ? `; the ${upgrade} plan allows ${PLAN_LIMITS[upgrade].maxChannels}` : ''),
      { plan, limit: limits.maxChannels, upgrade_to: upgrade ?? null },
    );
  }
}

/**
 * Inserts a channel if the plan has room. Config and secrets come validated and sealed,
 * bound to the id given here (see channels/credentials).
 */
export async function insertChannel(
  db: Db,
  input: {
    id: string;
    accountId: string;
    type: ChannelType;
    name: string;
    config: object;
    webhookSecret: string;
    verifyToken: string;
    status: ChannelRow['status'];
    statusMessage: string | null;
  },
): Promise<ChannelRow> {
  return db.transaction(async (trx) => {
    await assertPlanAllows(trx, input.accountId, input.type);
    const [row] = await trx('channels')
      .insert({
        id: input.id,
        account_id: input.accountId,
        type: input.type,
        name: input.name,
        config: JSON.stringify(input.config),
        status: input.status,
        status_message: input.statusMessage,
        webhook_secret: input.webhookSecret,
        verify_token: input.verifyToken,
      })
      .returning('*');
    return row;
  });
}

/**
 * Applies a change to a channel. `build` sees the current row (locked) and returns
 * the columns to write; reactivation is checked against the plan in the same
 * transaction, with the account row locked, as creation is.
 */
export async function updateChannel(
  db: Db,
  accountId: string,
  id: string,
  build: (current: ChannelRow) => Partial<Pick<ChannelRow, 'name' | 'config' | 'is_active' | 'status' | 'status_message' | 'webhook_secret' | 'verify_token'>>,
): Promise<{ before: ChannelRow; after: ChannelRow }> {
  return db.transaction(async (trx) => {
    const before: ChannelRow | undefined = await trx('channels').where({ id, account_id: accountId }).forUpdate().first();
    if (!before) throw new DomainError('not_found', 'not_found', 'channel not found');
    const changes = build(before);
    if (changes.is_active === true && !before.is_active) await assertPlanAllows(trx, accountId, before.type);
    const [after] = await trx('channels')
      .where({ id })
      .update({ ...changes, ...(changes.config ? { config: JSON.stringify(changes.config) } : {}), updated_at: trx.fn.now() })
      .returning('*');
    return { before, after };
  });
}

export async function findChannel(db: Db, accountId: string, id: string): Promise<ChannelRow | undefined> {
  return db('channels').where({ id, account_id: accountId }).first();
}
