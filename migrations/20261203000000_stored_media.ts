import type { Knex } from 'knex';

/**
 * Files PingBack itself keeps, where no platform holds them to fetch again: a web chat
 * visitor's uploads, an agent's files for a web chat reply, and the attachments of mail
 * that came by webhook. A file arrives
 * first; `message_id` links it once a stored message names it, in the activity that
 * stores the message. Whatever no stored message took (a message refused, a duplicate
 * that was dropped, an upload never sent) is swept (src/db/stored-media.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('stored_media', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('channel_id').notNullable().references('channels.id').onDelete('CASCADE');
    // Whose it is: a web chat visitor's id, `agent:<conversation id>`, a mail's sender. A visitor reads their own, and files of replies to them.
    t.text('owner').notNullable();
    // The sender's id for the file (the widget's, or the mail's Message-ID and place): sending it again stores it once.
    t.text('client_id');
    t.text('content_type').notNullable();
    t.text('file_name');
    t.integer('size').notNullable();
    t.text('sha256').notNullable();
    t.binary('bytes').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // When a message PingBack accepted last named it: from then its message may take a while to be stored.
    t.timestamp('claimed_at', { useTz: true });
    // SET NULL: a reply row deleted because its signal failed frees its files for the agent's retry (or the sweep).
    t.uuid('message_id').references('messages.id').onDelete('SET NULL');
    t.index(['channel_id', 'owner']);
  });
  await knex.raw('CREATE UNIQUE INDEX stored_media_client_id ON stored_media (channel_id, owner, client_id) WHERE client_id IS NOT NULL');
  // The sweep reads only files no stored message took.
  await knex.raw('CREATE INDEX stored_media_unlinked ON stored_media (created_at) WHERE message_id IS NULL');
  // A message's deletion (a reply whose signal failed) finds its files without a scan.
  await knex.raw('CREATE INDEX stored_media_message ON stored_media (message_id) WHERE message_id IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('stored_media');
}
