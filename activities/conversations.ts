import type { Db } from '../src/db/knex';
import { recordActivity } from '../src/inbox/activity';

export interface WakeSnoozedInput {
  channelId: string;
  threadKey: string;
  /** The snooze this wake-up is for: one an agent replaced or ended since is left alone. */
  snoozedUntil: string;
}

/** What a conversation's workflow changes about it by itself. */
export function makeConversationActivities(db: Db) {
  /**
   * Opens a snoozed conversation whose time has come, with an activity entry saying so; before
   * then, says how long to wait (the workflow holds no clock of its own). Safe to run twice: once
   * it is open (or snoozed anew, or resolved), nothing matches.
   */
  async function wakeSnoozed(input: WakeSnoozedInput): Promise<{ outcome: 'wait'; waitMs: number } | { outcome: 'woke' | 'gone' }> {
    const waitMs = Date.parse(input.snoozedUntil) - Date.now();
    if (waitMs > 0) return { outcome: 'wait', waitMs };
    return db.transaction(async (trx) => {
      const conv = await trx('conversations')
        .where({ channel_id: input.channelId, thread_key: input.threadKey, status: 'snoozed', snoozed_until: new Date(input.snoozedUntil) })
        .forUpdate()
        .first('id');
      if (!conv) return { outcome: 'gone' as const };
      await trx('conversations').where({ id: conv.id }).update({ status: 'open', snoozed_until: null, updated_at: trx.fn.now() });
      await recordActivity(trx, conv.id, null, { type: 'status_changed', from: 'snoozed', to: 'open', reason: 'snooze_ended' });
      return { outcome: 'woke' as const };
    });
  }

  return { wakeSnoozed };
}
