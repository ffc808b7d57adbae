import type { Knex } from 'knex';

/**
 * A kept file belongs to the message that took it: `message_id` is set by the activity
 * that stores the message, so a file named only by a message that was refused or
 * dropped as a duplicate is swept like one never named. `attached_at` becomes
 * `claimed_at` (a message sent to PingBack named it): the sweep gives such a file a day
 * from then to be stored.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('stored_media', (t) => {
    t.renameColumn('attached_at', 'claimed_at');
    t.uuid('message_id').references('messages.id').onDelete('CASCADE');
  });
  // Files the sweep found taken before this (named by a message) are linked now, from what the messages hold.
  await knex.raw(`
    UPDATE stored_media s SET message_id = m.id
      FROM conversations c
      JOIN messages m ON m.conversation_id = c.id AND m.direction = 'inbound'
      CROSS JOIN LATERAL jsonb_array_elements(m.attachments) a
     WHERE c.channel_id = s.channel_id AND a ->> 'storedMediaId' = s.id::text AND s.message_id IS NULL`);
  await knex.raw('DROP INDEX IF EXISTS stored_media_unattached');
  await knex.raw('CREATE INDEX stored_media_unlinked ON stored_media (created_at) WHERE message_id IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS stored_media_unlinked');
  await knex.schema.alterTable('stored_media', (t) => {
    t.dropColumn('message_id');
    t.renameColumn('claimed_at', 'attached_at');
  });
  await knex.raw('CREATE INDEX stored_media_unattached ON stored_media (channel_id, created_at) WHERE attached_at IS NULL');
}
