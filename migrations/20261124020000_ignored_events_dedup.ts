import type { Knex } from 'knex';

/** A redelivered (or re-persisted) ignored event is recorded once. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    'CREATE UNIQUE INDEX ignored_events_dedup ON ignored_events (channel_id, reason, platform_event_id)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS ignored_events_dedup');
}
