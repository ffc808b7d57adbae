import type { Knex } from 'knex';

/**
 * Events a poller has read from a platform but not yet handed on. X lists DMs newest
 * first and they must be handed on oldest first, so a walk back to the cursor reads
 * every page before handing anything on; after a long absence that is more than a
 * Temporal payload may carry (2 MB), so the pages are staged here and the poller's
 * workflow keeps only the pagination token. Rows go once the cursor has passed them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('polled_inbound_events', (t) => {
    t.uuid('channel_id').notNullable().references('channels.id').onDelete('CASCADE');
    // Whose events they are: staged rows of an account the channel no longer acts for mean nothing.
    t.text('platform_account_id').notNullable();
    // Numeric (X snowflake) as text; ordered as ::numeric.
    t.text('platform_event_id').notNullable();
    // The event as parsed (message, echo or other kind), ready to hand on.
    t.jsonb('event').notNullable();
    t.timestamp('staged_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // A page re-read (an activity retry, a page boundary shifting) stages nothing twice.
    t.primary(['channel_id', 'platform_event_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('polled_inbound_events');
}
