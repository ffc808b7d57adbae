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
interface Row {
  id: string;
  status: Status;
  platform_message_id: string | null;
  metadata: { parts_sent?: Record<string, string>; failed_parts?: string[] } | null;
  attachments: Array<{ fileName?: string }> | null;
}

/** A part of a reply in words: its text, or its file by name. */
function partName(row: Row, part: string | undefined): string {
  const file = /^file:(\d+)$/.exec(part ?? '');
  if (!file) return "the reply's text";
  return row.attachments?.[Number(file[1])]?.fileName ?? `file ${Number(file[1]) + 1} of the reply`;
}

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
      const outbound = () =>
        trx('messages')
          .whereIn('conversation_id', trx('conversations').select('id').where({ channel_id: input.channelId }))
          .where({ direction: 'outbound' })
          .forUpdate()
          .select('id', 'status', 'platform_message_id', 'metadata', 'attachments');
      const rows: Row[] = await outbound().whereIn('platform_message_id', ids);
      // A reply sent as several messages (a text, then a file each): a status about a later one.
      const rest = ids.filter((id) => !rows.some((r) => r.platform_message_id === id));
      if (rest.length) rows.push(...(await outbound().whereRaw('cardinality(part_platform_ids) > 0 AND part_platform_ids && ?::text[]', [rest])).filter((r: Row) => !rows.some((k) => k.id === r.id)));
      const state = new Map(rows.map((r) => [r.id, { ...r, error: undefined as string | undefined, failedParts: [...(r.metadata?.failed_parts ?? [])], changed: false }]));
      // Each platform id → its reply, and which part of it that message was.
      const byPlatformId = new Map<string, { rowId: string; part?: string }>();
      for (const r of rows) {
        for (const [part, id] of Object.entries(r.metadata?.parts_sent ?? {})) byPlatformId.set(id, { rowId: r.id, part });
        if (r.platform_message_id) byPlatformId.set(r.platform_message_id, { rowId: r.id, part: byPlatformId.get(r.platform_message_id)?.part });
      }

      const unmatched: MessageStatusUpdate[] = [];
      let stale = 0;
      for (const u of input.updates) {
        const hit = byPlatformId.get(u.platformMessageId);
        const row = hit && state.get(hit.rowId);
        if (!hit || !row) unmatched.push(u);
        // Still being sent (its parts are known before the reply is): looked at again once it is
        // recorded, as a status that came before its send is.
        else if (row.status === 'pending') unmatched.push(u);
        else if (u.status === 'failed' && hit.part) {
          // A part the platform failed, whatever the others reached: the reply fails naming every such
          // part, and Retry sends those again (the customer has the rest).
          if (row.failedParts.includes(hit.part)) stale++;
          else {
            row.failedParts.push(hit.part);
            Object.assign(row, { status: 'failed', error: `${row.failedParts.map((p) => partName(row, p)).join(', ')}: ${u.error ?? 'the platform reported it failed'}`, changed: true });
          }
        } else if (u.platformMessageId !== row.platform_message_id) stale++; // a later part's sent/delivered/read: the first message speaks for the reply
        else if (!MAY_FOLLOW[u.status].includes(row.status)) stale++;
        else Object.assign(row, { status: u.status, error: u.status === 'failed' ? u.error : row.error, changed: true });
      }
      const changed = [...state.values()].filter((r) => r.changed);
      for (const r of changed) {
        await trx('messages')
          .where({ id: r.id })
          .update({
            status: r.status,
            ...(r.status === 'failed' ? { error: r.error ?? 'the platform reported the message failed' } : {}),
            // Which parts Retry sends again (the others reached the customer).
            ...(r.failedParts.length ? { metadata: trx.raw("jsonb_set(metadata, '{failed_parts}', ?::jsonb)", [JSON.stringify(r.failedParts)]) } : {}),
            updated_at: trx.fn.now(),
          });
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
