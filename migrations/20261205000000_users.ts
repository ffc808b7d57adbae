import type { Knex } from 'knex';

/**
 * The people who work an account's inbox. A user signs in with an email (one user per
 * address across PingBack: the sign-in form asks for no account) and a password set
 * through a single-use link; sessions and links are kept as hashes only.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.text('email').notNullable();
    t.text('name').notNullable();
    t.enu('role', ['admin', 'agent']).notNullable();
    // argon2id, PHC string; NULL until the user has followed their invitation link.
    t.text('password_hash');
    t.timestamp('disabled_at', { useTz: true });
    t.timestamps(true, true);
    t.index(['account_id']);
  });
  await knex.raw('CREATE UNIQUE INDEX users_email_unique ON users (lower(email))');

  await knex.schema.createTable('sessions', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    // SHA-256 of the cookie's value: a copy of this table signs nobody in.
    t.text('token_hash').notNullable().unique();
    // Sent back by the dashboard in X-CSRF-Token on every change it asks for.
    t.text('csrf_token').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // The absolute end; the idle end is last_seen_at plus SESSION_IDLE_HOURS.
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.text('ip');
    t.text('user_agent');
    t.index(['user_id']);
  });

  // Invitation and password links: single use, hashed, with an end.
  await knex.schema.createTable('user_tokens', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.enu('purpose', ['invitation', 'password_reset']).notNullable();
    t.text('token_hash').notNullable().unique();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['user_id']);
  });

  // rate-limiter-flexible's table (its own schema), shared by every api process: sign-in attempts.
  await knex.raw(`CREATE TABLE login_limits (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint)`);

  await knex.schema.alterTable('messages', (t) => {
    // Who wrote a reply: a signed-in user or an integration's API key (NULL for customer messages and older replies).
    t.uuid('author_user_id').references('users.id').onDelete('SET NULL');
    t.uuid('author_api_key_id').references('api_keys.id').onDelete('SET NULL');
    // The writer's own id for a reply: the same id again (a double click, a retried request) is the same reply.
    t.text('client_id');
  });
  await knex.raw('CREATE UNIQUE INDEX messages_client_id ON messages (conversation_id, client_id) WHERE client_id IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('author_user_id');
    t.dropColumn('author_api_key_id');
    t.dropColumn('client_id');
  });
  await knex.schema.dropTableIfExists('login_limits');
  await knex.schema.dropTableIfExists('user_tokens');
  await knex.schema.dropTableIfExists('sessions');
  await knex.schema.dropTableIfExists('users');
}
