import type { Knex } from 'knex';

/**
 * Inbound events acknowledged to the platform but not routed into the inbox
 * (channel inactive, event kind not handled), so an operator can see what was
 * dropped and why instead of it vanishing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ignored_events', (t) => {
    t.bigIncrements('id');
    t.uuid('channel_id').notNullable().references('channels.id').onDelete('CASCADE');
    t.text('reason').notNullable();
    t.text('platform_event_id');
    t.jsonb('payload').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['channel_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('ignored_events');
}
