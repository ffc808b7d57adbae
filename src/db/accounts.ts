import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { hashToken } from '../auth/tokens';
import { channelTypeSchema, type ChannelType } from '../channels/types';
import { DomainError } from '../errors';
import { PLAN_LIMITS, planSchema, type Plan } from '../plans';
import { storedBytes } from './stored-media';
import { createUser, issuePasswordLink, type UserRow } from './users';
import type { Db } from './knex';

export { PLANS, planSchema, type Plan } from '../plans';

const timestamp = z.string().describe('ISO 8601 time');
/** What JSON.stringify makes of a timestamp column's Date, made here so the answer's type says it. */
const iso = (d: Date | string) => new Date(d).toISOString();

/** An account as the API shows it (GET /api/account, GET and PATCH /admin/accounts/{id}): what its plan allows and what it uses. */
export const accountSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  plan: planSchema,
  created_at: timestamp,
  limits: z.object({ max_active_channels: z.number().int(), channel_types: z.array(channelTypeSchema), max_stored_bytes: z.number().int() }),
  usage: z.object({
    active_channels: z.number().int(),
    total_channels: z.number().int(),
    /** Only the types it has active channels of. */
    active_channels_by_type: z.partialRecord(channelTypeSchema, z.number().int()),
    /** The files PingBack keeps for the account (stored_media). */
    stored_bytes: z.number().int(),
  }),
});
export type Account = z.infer<typeof accountSchema>;

/** An API key as GET /api/api-keys lists it: its prefix, never the key. */
export const apiKeySchema = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string().describe('The first 10 characters of the key, to recognise it by'),
  created_at: timestamp,
  last_used_at: timestamp.nullable(),
  revoked_at: timestamp.nullable(),
});
export type ApiKey = z.infer<typeof apiKeySchema>;

/** A key just issued (POST /api/api-keys, /admin/accounts/{id}/api-keys): the one time `api_key` is shown. */
export const issuedApiKeySchema = apiKeySchema.pick({ id: true, name: true, prefix: true, created_at: true }).extend({ api_key: z.string().describe('pb_…: shown once, stored hashed') });
export type IssuedApiKey = z.infer<typeof issuedApiKeySchema>;


/** `pb_` + 40 base64url chars: recognisable in logs and secret scanners, 240 bits of entropy. */
function newApiKey(): string {
  return 'pb_' + randomBytes(30).toString('base64url');
}

/**
 * An account and its first API key and, given an admin's email, its first admin with a
 * link to set their password: all or nothing.
 */
export async function createAccount(
  db: Db,
  input: { name: string; plan: Plan; admin?: { email: string; name?: string } },
  publicBaseUrl?: string,
) {
  return db.transaction(async (trx) => {
    const [account] = await trx('accounts').insert({ name: input.name, plan: input.plan }).returning(['id', 'name', 'plan', 'created_at']);
    const { api_key: key } = await issueApiKey(trx, account.id, 'default');
    let admin: { user: UserRow; setPasswordUrl: string; expiresAt: Date } | undefined;
    if (input.admin) {
      if (!publicBaseUrl) throw new Error('the first admin\'s link needs the public URL');
      const user = await createUser(trx, {
        accountId: account.id,
        email: input.admin.email,
        name: input.admin.name ?? input.admin.email.split('@')[0],
        role: 'admin',
      });
      const link = await issuePasswordLink(trx, user.id, 'invitation', publicBaseUrl);
      admin = { user, setPasswordUrl: link.url, expiresAt: link.expires_at };
    }
    return { account, apiKey: key, admin };
  });
}

/** A new key; only its hash is kept, so this is the one time it can be shown. */
export async function issueApiKey(db: Db, accountId: string, name: string): Promise<IssuedApiKey> {
  const key = newApiKey();
  const [row] = await db('api_keys')
    .insert({ account_id: accountId, name, key_hash: hashToken(key), prefix: key.slice(0, 10) })
    .returning(['id', 'name', 'prefix', 'created_at']);
  return { id: row.id, name: row.name, prefix: row.prefix, created_at: iso(row.created_at), api_key: key };
}

/** The account's keys, oldest first, revoked ones included. */
export async function listApiKeys(db: Db, accountId: string): Promise<ApiKey[]> {
  const rows = await db('api_keys').where({ account_id: accountId }).orderBy('created_at').select('id', 'name', 'prefix', 'created_at', 'last_used_at', 'revoked_at');
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    created_at: iso(r.created_at),
    last_used_at: r.last_used_at ? iso(r.last_used_at) : null,
    revoked_at: r.revoked_at ? iso(r.revoked_at) : null,
  }));
}

export async function accountForApiKey(db: Db, key: string): Promise<{ id: string; plan: Plan; key_id: string; key_name: string } | undefined> {
  return db('api_keys as k')
    .join('accounts as a', 'a.id', 'k.account_id')
    .where({ 'k.key_hash': hashToken(key) })
    .whereNull('k.revoked_at')
    .first('a.id', 'a.plan', 'k.id as key_id', 'k.name as key_name');
}

/**
 * Changes an account's plan. A downgrade the active channels would exceed is
 * refused (409) naming those channels: nothing is deactivated behind the user's back.
 */
export async function setPlan(db: Db, accountId: string, plan: Plan) {
  return db.transaction(async (trx) => {
    const account = await trx('accounts').where({ id: accountId }).forUpdate().first();
    if (!account) throw new DomainError('not_found', 'not_found', 'account not found');
    const limits = PLAN_LIMITS[plan];
    const active: Array<{ id: string; name: string; type: string }> = await trx('channels')
      .where({ account_id: accountId, is_active: true })
      .orderBy('created_at')
      .select('id', 'name', 'type');
    const wrongType = active.filter((c) => !(limits.channelTypes as readonly string[]).includes(c.type));
    if (wrongType.length > 0 || active.length > limits.maxChannels) {
      const blocking = wrongType.length > 0 ? wrongType : active;
      const why =
        wrongType.length > 0
          ? `the ${plan} plan does not include ${[...new Set(wrongType.map((c) => c.type))].join(', ')} channels`
          : `the ${plan} plan allows ${limits.maxChannels} active channel${limits.maxChannels === 1 ? '' : 's'} and the account has ${active.length}`;
      throw new DomainError('conflict', 'plan_downgrade_blocked', `${why}; deactivate: ${blocking.map((c) => `${c.name} (${c.id})`).join(', ')}`, {
        plan,
        limit: limits.maxChannels,
        channels: blocking,
      });
    }
    const [updated] = await trx('accounts').where({ id: accountId }).update({ plan, updated_at: trx.fn.now() }).returning('*');
    return updated;
  });
}

/** What the account's plan allows and what it uses. */
export async function accountSummary(db: Db, accountId: string): Promise<Account> {
  const account = await db('accounts').where({ id: accountId }).first('id', 'name', 'plan', 'created_at');
  if (!account) throw new DomainError('not_found', 'not_found', 'account not found');
  const rows: Array<{ type: ChannelType; is_active: boolean; n: string }> = await db('channels')
    .where({ account_id: accountId })
    .groupBy('type', 'is_active')
    .select('type', 'is_active', db.raw('count(*) as n'));
  const byType: Account['usage']['active_channels_by_type'] = {};
  let active = 0;
  let total = 0;
  for (const r of rows) {
    total += Number(r.n);
    if (r.is_active) {
      active += Number(r.n);
      byType[r.type] = (byType[r.type] ?? 0) + Number(r.n);
    }
  }
  const limits = PLAN_LIMITS[account.plan as Plan];
  return {
    id: account.id,
    name: account.name,
    plan: account.plan,
    created_at: iso(account.created_at),
    limits: { max_active_channels: limits.maxChannels, channel_types: [...limits.channelTypes], max_stored_bytes: limits.maxStoredBytes },
    usage: { active_channels: active, total_channels: total, active_channels_by_type: byType, stored_bytes: await storedBytes(db, accountId) },
  };
}
