import type { Knex } from 'knex';

/**
 * What PingBack learns from a platform about a connected channel, beside what the user
 * configured: whose account the credentials act for (messages from it are echoes of our
 * own), and, for channels that poll (X), how far inbound has been handed on. The cursor
 * lives here, not only in the poller's workflow state, so a poller stopped by a
 * deactivation resumes where it was when the channel is switched back on.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('channel_platform_state', (t) => {
    t.uuid('channel_id').primary().references('channels.id').onDelete('CASCADE');
    t.text('platform_account_id');
    // The newest platform event id handed on to the conversations (X snowflake ids, numeric strings).
    t.text('inbound_cursor');
    // Before the first cursor: events from this time on are the channel's (older ones predate it).
    t.timestamp('inbound_since', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('channel_platform_state');
}
