import type { Db } from './knex';
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
    .insert(events.map(storable).map((e) => ({ ...e, payload: JSON.stringify(e.payload) })))
    .onConflict(['channel_id', 'reason', 'platform_event_id'])
    .ignore();
}
