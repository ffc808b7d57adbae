import type { Knex } from 'knex';

/** When a reply began waiting for its channel to be reconnected: PARKED_REPLY_MAX_AGE_HOURS counts from it. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => t.timestamp('parked_at', { useTz: true }).nullable());
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => t.dropColumn('parked_at'));
}
