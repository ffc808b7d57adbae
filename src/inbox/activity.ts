import type { Knex } from 'knex';

/** Who made a change: a user, an integration's API key, or (neither) PingBack itself. */
export type ActorRef = { userId: string } | { apiKeyId: string } | null;

export const authorColumns = (actor: ActorRef) => ({
  author_user_id: actor && 'userId' in actor ? actor.userId : null,
  author_api_key_id: actor && 'apiKeyId' in actor ? actor.apiKeyId : null,
});

/**
 * Says, for the rest of the transaction, who is changing conversations and why: the trigger
 * that writes the timeline's activity entries reads it (migrations/…_events.ts). Changes made
 * without it are PingBack's own.
 */
export async function actingAs(trx: Knex.Transaction, actor: ActorRef, reason?: 'snooze_ended' | 'customer_message'): Promise<void> {
  const who = authorColumns(actor);
  await trx.raw(
    "SELECT set_config('pingback.actor_user_id', ?, true), set_config('pingback.actor_api_key_id', ?, true), set_config('pingback.reason', ?, true)",
    [who.author_user_id ?? '', who.author_api_key_id ?? '', reason ?? ''],
  );
}
