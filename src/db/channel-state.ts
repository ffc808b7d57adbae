import type { Db } from './knex';

export interface ChannelPlatformState {
  platform_account_id: string | null;
  inbound_cursor: string | null;
  inbound_since: Date;
}

export async function readPlatformState(db: Db, channelId: string): Promise<ChannelPlatformState | undefined> {
  return db('channel_platform_state').where({ channel_id: channelId }).first('platform_account_id', 'inbound_cursor', 'inbound_since');
}

/**
 * Records whose account the channel's credentials act for. The first time, inbound
 * starts from the channel's creation; when the credentials now belong to another
 * account, the old account's cursor means nothing and inbound starts from now.
 */
export async function recordPlatformAccount(db: Db, channelId: string, platformAccountId: string): Promise<void> {
  await db.raw(
    `INSERT INTO channel_platform_state (channel_id, platform_account_id, inbound_since)
       SELECT id, ?, created_at FROM channels WHERE id = ?
     ON CONFLICT (channel_id) DO UPDATE SET
       inbound_cursor = CASE WHEN channel_platform_state.platform_account_id IS DISTINCT FROM EXCLUDED.platform_account_id
                             THEN NULL ELSE channel_platform_state.inbound_cursor END,
       inbound_since = CASE WHEN channel_platform_state.platform_account_id IS DISTINCT FROM EXCLUDED.platform_account_id
                            THEN now() ELSE channel_platform_state.inbound_since END,
       platform_account_id = EXCLUDED.platform_account_id,
       updated_at = now()`,
    [platformAccountId, channelId],
  );
}

/**
 * Moves the cursor forward only: a slow, superseded activity attempt finishing late
 * cannot move it back (which would only repeat events, but still).
 */
export async function advanceInboundCursor(db: Db, channelId: string, eventId: string): Promise<void> {
  await db('channel_platform_state')
    .where({ channel_id: channelId })
    .andWhere((q) => q.whereNull('inbound_cursor').orWhereRaw('inbound_cursor::numeric < ?::numeric', [eventId]))
    .update({ inbound_cursor: eventId, updated_at: db.fn.now() });
}

/**
 * A mailbox cursor, `<UIDVALIDITY>:<last UID handed on>` (RFC 3501 §2.3.1.1: a UID means
 * something only with its mailbox's UIDVALIDITY). Forward only within one UIDVALIDITY; a new
 * UIDVALIDITY replaces it, since the old UIDs mean nothing any more.
 */
export async function advanceMailboxCursor(db: Db, channelId: string, uidValidity: string, uid: number): Promise<void> {
  await db('channel_platform_state')
    .where({ channel_id: channelId })
    .andWhere((q) =>
      q
        .whereNull('inbound_cursor')
        .orWhereRaw("split_part(inbound_cursor, ':', 1) <> ?", [uidValidity])
        .orWhereRaw("split_part(inbound_cursor, ':', 2)::bigint < ?", [uid]),
    )
    .update({ inbound_cursor: `${uidValidity}:${uid}`, updated_at: db.fn.now() });
}

export function readMailboxCursor(cursor: string | null): { uidValidity: string; uid: number } | undefined {
  const m = cursor ? /^(\d+):(\d+)$/.exec(cursor) : null;
  return m ? { uidValidity: m[1], uid: Number(m[2]) } : undefined;
}
