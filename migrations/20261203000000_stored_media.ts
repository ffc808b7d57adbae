import type { Knex } from 'knex';

/**
 * Files PingBack itself keeps, where no platform holds them to fetch again: a web chat
 * visitor's uploads and the attachments of mail that came by webhook. An upload comes
 * first and is named by the message that carries it; `attached_at` says it was, and
 * unattached ones are swept after a day.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('stored_media', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('channel_id').notNullable().references('channels.id').onDelete('CASCADE');
    // Whose it is, in the channel's terms (a web chat visitor's id, a mail's sender): only a visitor may attach or read back their own.
    t.text('owner').notNullable();
    // The sender's id for the file (the widget's, or the mail's Message-ID and place): sending it again stores it once.
    t.text('client_id');
    t.text('content_type').notNullable();
    t.text('file_name');
    t.integer('size').notNullable();
    t.text('sha256').notNullable();
    t.binary('bytes').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('attached_at', { useTz: true });
    t.index(['channel_id', 'owner']);
  });
  await knex.raw('CREATE UNIQUE INDEX stored_media_client_id ON stored_media (channel_id, owner, client_id) WHERE client_id IS NOT NULL');
  // The sweep reads only uploads no message took.
  await knex.raw('CREATE INDEX stored_media_unattached ON stored_media (channel_id, created_at) WHERE attached_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('stored_media');
}
