import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Db } from './knex';

export const PLANS = ['free', 'mini', 'pro'] as const;
export const planSchema = z.enum(PLANS);
export type Plan = z.infer<typeof planSchema>;

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

/** `pb_` + 40 base62-ish chars: recognisable in logs and secret scanners, 238 bits of entropy. */
function newApiKey(): string {
  return 'pb_' + randomBytes(30).toString('base64url');
}

export async function createAccount(db: Db, input: { name: string; plan: Plan }) {
  return db.transaction(async (trx) => {
    const [account] = await trx('accounts').insert({ name: input.name, plan: input.plan }).returning(['id', 'name', 'plan', 'created_at']);
    const apiKey = await issueApiKey(trx, account.id, 'default');
    return { account, apiKey };
  });
}

export async function issueApiKey(db: Db, accountId: string, name: string): Promise<string> {
  const key = newApiKey();
  await db('api_keys').insert({ account_id: accountId, name, key_hash: hashApiKey(key), prefix: key.slice(0, 10) });
  return key;
}

export async function accountForApiKey(db: Db, key: string): Promise<{ id: string; plan: Plan } | undefined> {
  return db('api_keys as k')
    .join('accounts as a', 'a.id', 'k.account_id')
    .where({ 'k.key_hash': hashApiKey(key) })
    .whereNull('k.revoked_at')
    .first('a.id', 'a.plan');
}
