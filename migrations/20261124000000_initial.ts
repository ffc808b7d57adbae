import type { Knex } from 'knex';

const CHANNEL_TYPES = ['webchat', 'email', 'whatsapp', 'telegram', 'instagram', 'x'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('accounts', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('name').notNullable();
    t.enu('plan', ['free', 'mini', 'pro']).notNullable();
    t.timestamps(true, true);
  });

  await knex.schema.createTable('api_keys', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.text('name').notNullable().defaultTo('default');
    // Only a SHA-256 of the key is kept; the key itself is shown once, at creation.
    t.text('key_hash').notNullable().unique();
    t.text('prefix').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.index(['account_id']);
  });

  await knex.schema.createTable('channels', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.enu('type', CHANNEL_TYPES).notNullable();
    t.text('name').notNullable();
    t.jsonb('config').notNullable().defaultTo('{}');
    t.boolean('is_active').notNullable().defaultTo(true);
    t.enu('status', ['pending', 'connected', 'error']).notNullable().defaultTo('pending');
    t.text('status_message');
    // Sent back by the platform on every webhook (Telegram's secret_token); compared in constant time.
    t.text('webhook_secret').notNullable();
    // What the user pastes into Meta's and X's consoles.
    t.text('verify_token').notNullable();
    t.timestamps(true, true);
    t.index(['account_id', 'is_active']);
  });

  await knex.schema.createTable('contacts', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('channel_id').notNullable().references('channels.id').onDelete('CASCADE');
    t.text('platform_user_id').notNullable();
    t.text('name');
    t.text('username');
    t.timestamps(true, true);
    t.unique(['channel_id', 'platform_user_id']);
  });

  await knex.schema.createTable('conversations', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.uuid('channel_id').notNullable().references('channels.id').onDelete('CASCADE');
    t.enu('channel_type', CHANNEL_TYPES).notNullable();
    t.uuid('contact_id').notNullable().references('contacts.id');
    // The platform's thread: Telegram chat id, WhatsApp wa_id, IGSID, X user id, email address.
    t.text('thread_key').notNullable();
    t.enu('status', ['open', 'resolved']).notNullable().defaultTo('open');
    t.text('workflow_id').notNullable().unique();
    t.timestamp('last_message_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamps(true, true);
    t.unique(['channel_id', 'thread_key']);
  });
  // The inbox lists newest first, optionally by channel type or status; id breaks ties for the cursor.
  await knex.raw('CREATE INDEX conversations_inbox ON conversations (account_id, last_message_at DESC, id DESC)');
  await knex.raw(
    'CREATE INDEX conversations_inbox_by_type ON conversations (account_id, channel_type, last_message_at DESC, id DESC)',
  );
  await knex.raw(
    'CREATE INDEX conversations_inbox_by_status ON conversations (account_id, status, last_message_at DESC, id DESC)',
  );

  await knex.schema.createTable('messages', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    // Insertion order is the order the conversation workflow handed messages on.
    t.bigIncrements('seq', { primaryKey: false });
    t.uuid('conversation_id').notNullable().references('conversations.id').onDelete('CASCADE');
    t.enu('direction', ['inbound', 'outbound']).notNullable();
    t.text('platform_message_id');
    t.text('content').notNullable().defaultTo('');
    t.text('content_type').notNullable().defaultTo('text');
    t.jsonb('attachments').notNullable().defaultTo('[]');
    t.jsonb('metadata').notNullable().defaultTo('{}');
    t.enu('status', ['received', 'pending', 'sent', 'delivered', 'read', 'failed']).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('error');
    t.timestamp('platform_timestamp', { useTz: true });
    t.timestamp('sent_at', { useTz: true });
    t.timestamps(true, true);
    t.index(['conversation_id', 'seq']);
  });
  // A platform redelivering the same message is a no-op (NULLs, i.e. unsent replies, never collide).
  await knex.raw(
    'CREATE UNIQUE INDEX messages_platform_dedup ON messages (conversation_id, direction, platform_message_id)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('messages');
  await knex.schema.dropTableIfExists('conversations');
  await knex.schema.dropTableIfExists('contacts');
  await knex.schema.dropTableIfExists('channels');
  await knex.schema.dropTableIfExists('api_keys');
  await knex.schema.dropTableIfExists('accounts');
}
