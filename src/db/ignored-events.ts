import type { Db } from './knex';
import { boundKey } from '../inbound/bound';
import { storable } from './storable';

export interface IgnoredEvent {
  channel_id: string;
  /** channel_inactive, not_for_this_channel, echo, unknown_message … */
  reason: string;
  platform_event_id: string | null;
  payload: unknown;
}

/**
 * Keeps an inbound event that was acknowledged to the platform but not routed
 * into the inbox, once: a redelivery or an activity retry records nothing new.
 */
export async function recordIgnoredEvents(db: Db, events: IgnoredEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db('ignored_events')
    // The id is the platform's (a Message-ID, a digest): bounded, as the dedup index takes 2.7 KB a row.
    .insert(events.map(storable).map((e) => ({ ...e, reason: e.reason.slice(0, 100), platform_event_id: e.platform_event_id === null ? null : boundKey(e.platform_event_id), payload: JSON.stringify(e.payload) })))
    .onConflict(['channel_id', 'reason', 'platform_event_id'])
    .ignore();
}

/** Rows older than `days`, deleted by the api's sweeper (src/db/sweeper.ts) a batch at a time. */
export const ignoredEventsSweep = (days: number) => ({
  what: 'ignored events past their retention',
  sweep: async (db: Db, limit: number): Promise<number> => {
    const result = await db.raw(
      'DELETE FROM ignored_events WHERE id IN (SELECT id FROM ignored_events WHERE created_at < now() - make_interval(days => ?) ORDER BY created_at LIMIT ?)',
      [days, limit],
    );
    return result.rowCount ?? 0;
  },
});
