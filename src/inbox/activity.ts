import type { Knex } from 'knex';
import type { Db } from '../db/knex';
import type { Activity } from './schemas';

/** Who made a change: a user, an integration's API key, or (neither) PingBack itself. */
export type ActorRef = { userId: string } | { apiKeyId: string } | null;

export const authorColumns = (actor: ActorRef) => ({
  author_user_id: actor && 'userId' in actor ? actor.userId : null,
  author_api_key_id: actor && 'apiKeyId' in actor ? actor.apiKeyId : null,
});

/** An entry in the conversation's timeline saying who changed what; in the caller's transaction. */
export async function recordActivity(db: Db | Knex.Transaction, conversationId: string, actor: ActorRef, activity: Activity): Promise<void> {
  await db('conversation_entries').insert({
    conversation_id: conversationId,
    kind: 'activity',
    activity: JSON.stringify(activity),
    ...authorColumns(actor),
  });
}
