import type { Knex } from 'knex';

/**
 * A channel whose platform stopped taking its credentials (an expired token, a changed
 * password) is `reconnect_required` from then (and since when) until new credentials pass the
 * platform's check; replies written meanwhile wait, `waiting_for_channel`, and go out in order
 * once it is reconnected.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE channels DROP CONSTRAINT channels_status_check');
  // Replaced within this migration's transaction: writers wait for it, which is a moment on the
  // channels table and a scan of messages (run it at a quiet hour on a large inbox).
  await knex.raw("ALTER TABLE channels ADD CONSTRAINT channels_status_check CHECK (status IN ('pending', 'connected', 'error', 'reconnect_required')) NOT VALID");
  await knex.raw('ALTER TABLE channels VALIDATE CONSTRAINT channels_status_check');
  await knex.schema.alterTable('channels', (t) => t.timestamp('reconnect_required_at', { useTz: true }).nullable());
  await knex.raw('ALTER TABLE messages DROP CONSTRAINT messages_status_check');
  await knex.raw(
    "ALTER TABLE messages ADD CONSTRAINT messages_status_check CHECK (status IN ('received', 'pending', 'waiting_for_channel', 'sent', 'delivered', 'read', 'failed')) NOT VALID",
  );
  await knex.raw('ALTER TABLE messages VALIDATE CONSTRAINT messages_status_check');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("UPDATE messages SET status = 'pending' WHERE status = 'waiting_for_channel'");
  await knex.raw('ALTER TABLE messages DROP CONSTRAINT messages_status_check');
  await knex.raw("ALTER TABLE messages ADD CONSTRAINT messages_status_check CHECK (status IN ('received', 'pending', 'sent', 'delivered', 'read', 'failed'))");
  await knex.raw("UPDATE channels SET status = 'error' WHERE status = 'reconnect_required'");
  await knex.raw('ALTER TABLE channels DROP CONSTRAINT channels_status_check');
  await knex.raw("ALTER TABLE channels ADD CONSTRAINT channels_status_check CHECK (status IN ('pending', 'connected', 'error'))");
  await knex.schema.alterTable('channels', (t) => t.dropColumn('reconnect_required_at'));
}
