import type { Db } from '../src/db/knex';
import { actingAs } from '../src/inbox/activity';
import type { ConversationStatus } from '../src/inbox/schemas';

export interface CheckSnoozeInput {
  channelId: string;
  threadKey: string;
}

export type CheckSnoozeResult =
  | { outcome: 'wait'; waitMs: number; status: 'snoozed' }
  | { outcome: 'woke'; status: 'open' }
  | { outcome: 'not_snoozed'; status: ConversationStatus | null };

/** What a conversation's workflow does about its conversation by itself. */
export function makeConversationActivities(db: Db) {
  /**
   * The conversation's status as the database has it, and its snooze: a snooze whose time has
   * come is ended here (open again, the timeline saying why); one still to come says how long to
   * wait. The database decides, so signals arriving in any order, or a change an agent made that
   * then failed to commit, cannot leave the workflow waiting for the wrong time. Safe to run twice.
   */
  async function checkSnooze(input: CheckSnoozeInput): Promise<CheckSnoozeResult> {
    return db.transaction(async (trx) => {
      const conv = await trx('conversations')
        .where({ channel_id: input.channelId, thread_key: input.threadKey })
        .forUpdate()
        .first('id', 'status', db.raw('extract(epoch FROM snoozed_until - clock_timestamp()) * 1000 AS wait_ms'));
      if (!conv) return { outcome: 'not_snoozed', status: null };
      if (conv.status !== 'snoozed') return { outcome: 'not_snoozed', status: conv.status };
      const waitMs = Number(conv.wait_ms);
      if (waitMs > 0) return { outcome: 'wait', waitMs: Math.ceil(waitMs), status: 'snoozed' };
      await actingAs(trx, null, 'snooze_ended');
      await trx('conversations').where({ id: conv.id }).update({ status: 'open', snoozed_until: null });
      return { outcome: 'woke', status: 'open' };
    });
  }

  return { checkSnooze };
}
