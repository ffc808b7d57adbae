import type { Knex } from 'knex';

/**
 * The web widget's rate limits, counted in PostgreSQL so they hold across api processes
 * (rate-limiter-flexible's table layout, as login_limits).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE rate_limits (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('rate_limits');
}
