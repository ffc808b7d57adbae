import { recordIgnoredEvents } from '../src/db/ignored-events';
import type { Db } from '../src/db/knex';
import type { MessageStatusUpdate } from '../src/channels/types';

export interface PersistStatusesInput {
  channelId: string;
  updates: MessageStatusUpdate[];
  /**
   * Whether a status for no known message is final (recorded in ignored_events) or
   * handed back as `unmatched`: while a send is in flight its row may not have the
   * platform's id yet, and the platform can report `sent` before we wrote it down.
   */
  recordUnknown: boolean;
}

export interface PersistStatusesResult {
  applied: number;
  /** Known messages already at or past the reported status (out of order, duplicates). */
  stale: number;
  unmatched: MessageStatusUpdate[];
}

type Status = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

/**
 * The state machine of an outbound message: it only moves forward. A late `delivered`
 * after `read` changes nothing; `failed` (with the platform's reason) ends it unless it
 * was already read. `read` may come without `delivered`.
 */
const MAY_FOLLOW: Record<MessageStatusUpdate['status'], readonly Status[]> = {
  sent: ['pending'],
  delivered: ['pending', 'sent'],
  read: ['pending', 'sent', 'delivered'],
  failed: ['pending', 'sent', 'delivered'],
};

/**
 * Applies a batch of delivery statuses to the channel's outbound messages, in order,
 * in one transaction with the rows locked. Safe to run twice: each update only moves
 * a message forward, so a replay changes nothing.
 */
export function makePersistMessageStatuses(db: Db) {
  return async function persistMessageStatuses(input: PersistStatusesInput): Promise<PersistStatusesResult> {
    if (input.updates.length === 0) return { applied: 0, stale: 0, unmatched: [] };
    return db.transaction(async (trx) => {
      const ids = [...new Set(input.updates.map((u) => u.platformMessageId))];
      const rows: Array<{ id: string; status: Status; platform_message_id: string }> = await trx('messages')
        .whereIn('conversation_id', trx('conversations').select('id').where({ channel_id: input.channelId }))
        .where({ direction: 'outbound' })
        .whereIn('platform_message_id', ids)
        .forUpdate()
        .select('id', 'status', 'platform_message_id');
      const byPlatformId = new Map(rows.map((r) => [r.platform_message_id, { ...r, error: undefined as string | undefined, changed: false }]));

      const unmatched: MessageStatusUpdate[] = [];
      let stale = 0;
      for (const u of input.updates) {
        const row = byPlatformId.get(u.platformMessageId);
        if (!row) unmatched.push(u);
        else if (!MAY_FOLLOW[u.status].includes(row.status)) stale++;
        else Object.assign(row, { status: u.status, error: u.status === 'failed' ? u.error : row.error, changed: true });
      }
      const changed = [...byPlatformId.values()].filter((r) => r.changed);
      for (const r of changed) {
        await trx('messages')
          .where({ id: r.id })
          .update({ status: r.status, ...(r.status === 'failed' ? { error: r.error ?? 'the platform reported the message failed' } : {}), updated_at: trx.fn.now() });
      }

      if (input.recordUnknown) {
        await recordIgnoredEvents(
          trx,
          unmatched.map((u) => ({ channel_id: input.channelId, reason: 'unknown_message', platform_event_id: `${u.platformMessageId}:${u.status}`, payload: u })),
        );
      }
      return { applied: input.updates.length - unmatched.length - stale, stale, unmatched: input.recordUnknown ? [] : unmatched };
    });
  };
}
