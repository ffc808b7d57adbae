import type { Db } from './knex';

/**
 * The platform refused the channel's credentials (Meta's 190, a 401, a refused SMTP or IMAP
 * login): the channel needs reconnecting, and says so with the platform's words and since
 * when. Answers whether this call made it so, so the moment is logged once, not once per
 * reply or poll that meets it. New credentials that pass the platform's check (the setup
 * workflow) make it `connected` again.
 */
export async function requireReconnect(db: Db, channelId: string, statusMessage: string, refusedConfig: object): Promise<boolean> {
  const changed = await db('channels')
    .where({ id: channelId })
    .whereNot({ status: 'reconnect_required' })
    // Only while the channel still has the credentials that were refused: a refusal of old ones
    // arriving after new ones were saved (a send or poll begun before) must not undo the reconnect.
    .whereRaw('config = ?::jsonb', [JSON.stringify(refusedConfig)])
    .update({
      status: 'reconnect_required',
      status_message: statusMessage,
      reconnect_required_at: db.fn.now(),
      updated_at: db.fn.now(),
    });
  return changed > 0;
}
