import type { Knex } from 'knex';

/**
 * When the customer last wrote (their platform's time, else PingBack's): WhatsApp takes
 * free-form replies only within 24 hours of it, so each conversation shows when its window
 * closes and a reply past it is refused up front. Filled in from the stored messages.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('conversations', (t) => {
    t.timestamp('last_inbound_at', { useTz: true }).nullable();
  });
  await knex.raw(`
    UPDATE conversations c SET last_inbound_at = m.at
      FROM (SELECT conversation_id, max(coalesce(platform_timestamp, created_at)) AS at FROM messages WHERE direction = 'inbound' GROUP BY conversation_id) m
     WHERE m.conversation_id = c.id`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('conversations', (t) => t.dropColumn('last_inbound_at'));
}
