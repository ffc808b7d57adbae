import type { Knex } from 'knex';

/**
 * A failed reply an agent retries (POST /api/messages/:id/retry): when it was queued again,
 * so its day to go out counts from the retry rather than from when it was written, and how
 * many times it was retried.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.timestamp('retried_at', { useTz: true }).nullable();
    t.integer('retries').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('retried_at');
    t.dropColumn('retries');
  });
}
