import type { Knex } from 'knex';

/**
 * ignored_events is kept IGNORED_EVENTS_RETENTION_DAYS (the api's sweeper deletes older rows):
 * the sweep looks rows up by age across every channel, which the (channel_id, created_at)
 * index cannot serve.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ignored_events', (t) => t.index(['created_at'], 'ignored_events_created_at'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ignored_events', (t) => t.dropIndex(['created_at'], 'ignored_events_created_at'));
}
