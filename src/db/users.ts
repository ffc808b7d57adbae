import { z } from 'zod';
import { hashToken, newToken } from '../auth/tokens';
import { DomainError } from '../errors';
import type { Db } from './knex';

export { ROLES, roleSchema, type Role, userSchema, type User } from '../inbox/schemas';
import type { Role, User } from '../inbox/schemas';

export const emailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email('must be an email address'))
  .transform((e) => e.toLowerCase());
export const userNameSchema = z.string().trim().min(1).max(200);

export const USER_COLUMNS = ['id', 'account_id', 'email', 'name', 'role', 'password_hash', 'disabled_at', 'created_at'] as const;
export interface UserRow {
  id: string;
  account_id: string;
  email: string;
  name: string;
  role: Role;
  password_hash: string | null;
  disabled_at: Date | null;
  created_at: Date;
}

export function presentUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    status: row.disabled_at ? 'disabled' : row.password_hash ? 'active' : 'invited',
    created_at: row.created_at.toISOString(),
  };
}

/** Invitation and password links are good for this long, and once. */
export const LINK_TTL_DAYS = 7;

/** A user of the account, without a password until they follow their link. 409 when the email is taken. */
export async function createUser(db: Db, input: { accountId: string; email: string; name: string; role: Role }): Promise<UserRow> {
  try {
    const [row] = await db('users')
      .insert({ account_id: input.accountId, email: input.email, name: input.name, role: input.role })
      .returning([...USER_COLUMNS]);
    return row;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      throw new DomainError('conflict', 'email_taken', `${input.email} already belongs to a PingBack user; to give them a new link, use their password reset`);
    }
    throw err;
  }
}

/**
 * A single-use link for setting a password. Issuing one ends the user's earlier unused
 * links of the same purpose, so only the newest link handed out works.
 */
export async function issuePasswordLink(
  db: Db,
  userId: string,
  purpose: 'invitation' | 'password_reset',
  publicBaseUrl: string,
): Promise<{ url: string; expires_at: Date }> {
  const token = newToken();
  const expiresAt = new Date(Date.now() + LINK_TTL_DAYS * 86_400_000);
  await db.transaction(async (trx) => {
    await trx('user_tokens').where({ user_id: userId, purpose }).whereNull('used_at').update({ used_at: trx.fn.now() });
    await trx('user_tokens').insert({ user_id: userId, purpose, token_hash: hashToken(token), expires_at: expiresAt });
  });
  const url = new URL('/set-password', publicBaseUrl);
  url.searchParams.set('token', token);
  return { url: url.toString(), expires_at: expiresAt };
}

/**
 * Sets the password a link was issued for, and spends the link, in one transaction:
 * a link raced by two requests sets one password. A used, expired or unknown link,
 * or one for a disabled user, is 400 invalid_token.
 */
export async function redeemPasswordLink(db: Db, token: string, passwordHash: string): Promise<string> {
  return db.transaction(async (trx) => {
    const link = await trx('user_tokens as t')
      .join('users as u', 'u.id', 't.user_id')
      .where('t.token_hash', hashToken(token))
      .whereNull('t.used_at')
      .where('t.expires_at', '>', trx.fn.now())
      .whereNull('u.disabled_at')
      .forUpdate('t')
      .first('t.id', 't.user_id');
    if (!link) throw new DomainError('invalid', 'invalid_token', 'this link was used already, has expired or is not one PingBack gave out; ask an admin for a new one');
    await trx('user_tokens').where({ id: link.id }).update({ used_at: trx.fn.now() });
    await trx('users').where({ id: link.user_id }).update({ password_hash: passwordHash, updated_at: trx.fn.now() });
    // A new password ends every session signed in with the old one.
    await trx('sessions').where({ user_id: link.user_id }).delete();
    return link.user_id as string;
  });
}
