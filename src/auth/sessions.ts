import type { Db } from '../db/knex';
import type { Role } from '../db/users';
import { hashToken, newToken } from './tokens';

export const SESSION_COOKIE = 'pingback_session';

export interface SessionUser {
  sessionId: string;
  csrfToken: string;
  userId: string;
  accountId: string;
  email: string;
  name: string;
  role: Role;
}

export interface SessionPolicy {
  idleHours: number;
  maxDays: number;
}

/** A new session: the cookie's value (shown once, stored hashed) and its CSRF token. */
export async function startSession(
  db: Db,
  userId: string,
  policy: SessionPolicy,
  client: { ip?: string; userAgent?: string },
): Promise<{ token: string; expiresAt: Date }> {
  const token = newToken();
  const expiresAt = new Date(Date.now() + policy.maxDays * 86_400_000);
  await db('sessions').insert({
    user_id: userId,
    token_hash: hashToken(token),
    csrf_token: newToken(),
    expires_at: expiresAt,
    ip: client.ip?.slice(0, 100) ?? null,
    user_agent: client.userAgent?.slice(0, 500) ?? null,
  });
  return { token, expiresAt };
}

/**
 * The signed-in user behind a session cookie, or undefined when the session ended: signed
 * out, idle past SESSION_IDLE_HOURS, past SESSION_MAX_DAYS, or its user disabled. A use
 * moves the idle end, written at most once a minute.
 */
export async function sessionUser(db: Db, token: string, policy: SessionPolicy): Promise<SessionUser | undefined> {
  const row = await db('sessions as s')
    .join('users as u', 'u.id', 's.user_id')
    .where('s.token_hash', hashToken(token))
    .where('s.expires_at', '>', db.fn.now())
    .whereRaw("s.last_seen_at > now() - make_interval(secs => ?)", [policy.idleHours * 3600])
    .whereNull('u.disabled_at')
    .first('s.id', 's.csrf_token', 's.last_seen_at', 'u.id as user_id', 'u.account_id', 'u.email', 'u.name', 'u.role');
  if (!row) return undefined;
  if (Date.now() - new Date(row.last_seen_at).getTime() > 60_000) {
    void db('sessions').where({ id: row.id }).update({ last_seen_at: db.fn.now() }).catch(() => undefined);
  }
  return {
    sessionId: row.id,
    csrfToken: row.csrf_token,
    userId: row.user_id,
    accountId: row.account_id,
    email: row.email,
    name: row.name,
    role: row.role,
  };
}

export async function endSessionByToken(db: Db, token: string): Promise<void> {
  await db('sessions').where({ token_hash: hashToken(token) }).delete();
}

export async function endUserSessions(db: Db, userId: string): Promise<void> {
  await db('sessions').where({ user_id: userId }).delete();
}

/** For the api's sweeper: sessions past either end, and links used or expired a week ago. */
export const endedSessionsSweep = (idleHours: number) => ({
  what: 'ended sessions and spent links',
  sweep: async (db: Db, limit: number) => {
    const sessions = await db('sessions')
      .whereIn(
        'id',
        db('sessions')
          .select('id')
          .where('expires_at', '<', db.fn.now())
          .orWhereRaw('last_seen_at < now() - make_interval(secs => ?)', [idleHours * 3600])
          .limit(limit),
      )
      .delete();
    const links = await db('user_tokens')
      .whereIn('id', db('user_tokens').select('id').whereRaw("coalesce(used_at, expires_at) < now() - interval '7 days'").limit(limit))
      .delete();
    return sessions + links;
  },
});

/**
 * Which of these stream owners may still read: sessions neither ended nor idle past the policy,
 * of users not disabled; API keys not revoked (the event stream's check, src/events/hub.ts).
 */
export async function stillAllowed(db: Db, policy: SessionPolicy, owners: Array<{ sessionId: string } | { apiKeyId: string }>): Promise<{ sessions: Set<string>; apiKeys: Set<string> }> {
  const sessionIds = owners.flatMap((o) => ('sessionId' in o ? [o.sessionId] : []));
  const keyIds = owners.flatMap((o) => ('apiKeyId' in o ? [o.apiKeyId] : []));
  const [sessions, keys] = await Promise.all([
    sessionIds.length
      ? db('sessions as s')
          .join('users as u', 'u.id', 's.user_id')
          .whereIn('s.id', sessionIds)
          .where('s.expires_at', '>', db.fn.now())
          .whereRaw('s.last_seen_at > now() - make_interval(secs => ?)', [policy.idleHours * 3600])
          .whereNull('u.disabled_at')
          .pluck('s.id')
      : [],
    keyIds.length ? db('api_keys').whereIn('id', keyIds).whereNull('revoked_at').pluck('id') : [],
  ]);
  return { sessions: new Set(sessions), apiKeys: new Set(keys) };
}
