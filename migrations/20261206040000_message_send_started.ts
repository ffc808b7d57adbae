import type { Knex } from 'knex';

/**
 * When an attempt to send a reply began calling its platform, written before the call and
 * cleared once the platform answered: an attempt that finds it set (its predecessor died or
 * timed out mid-call) knows the reply may already be out (see activities/outbound.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => t.timestamp('send_started_at', { useTz: true }).nullable());
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => t.dropColumn('send_started_at'));
}
