import type { Knex } from 'knex';

/**
 * The platform ids of every message a reply went out as (a text, then a message per file), so a
 * delivery status about any of them finds its reply; `metadata.parts_sent` says which part each is.
 * Indexed only where there are parts: most replies are one message, found by platform_message_id.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => t.specificType('part_platform_ids', 'text[]').notNullable().defaultTo('{}'));
  await knex.raw('CREATE INDEX messages_part_platform_ids ON messages USING gin (part_platform_ids) WHERE cardinality(part_platform_ids) > 0');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS messages_part_platform_ids');
  await knex.schema.alterTable('messages', (t) => t.dropColumn('part_platform_ids'));
}
