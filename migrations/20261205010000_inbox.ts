import type { Knex } from 'knex';

/**
 * What agents do with conversations: statuses beyond open/resolved, snoozing, assignment,
 * private notes and activity entries, per-user read markers, counts for the inbox's
 * badges, and search.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE conversations DROP CONSTRAINT conversations_status_check');
  await knex.raw(
    "ALTER TABLE conversations ADD CONSTRAINT conversations_status_check CHECK (status IN ('open', 'pending', 'snoozed', 'resolved'))",
  );
  await knex.schema.alterTable('conversations', (t) => {
    t.timestamp('snoozed_until', { useTz: true });
    t.uuid('assignee_id').references('users.id').onDelete('SET NULL');
  });
  // A snoozed conversation always says until when, and only a snoozed one does.
  await knex.raw(
    "ALTER TABLE conversations ADD CONSTRAINT conversations_snooze_check CHECK ((status = 'snoozed') = (snoozed_until IS NOT NULL))",
  );
  // The inbox's usual views: a status with an assignee (Mine, Unassigned), a status with a
  // channel type, and one channel's conversations. Newest first; id breaks ties for the cursor.
  await knex.raw(
    'CREATE INDEX conversations_inbox_by_assignee ON conversations (account_id, status, assignee_id, last_message_at DESC, id DESC)',
  );
  await knex.raw(
    'CREATE INDEX conversations_inbox_by_status_type ON conversations (account_id, status, channel_type, last_message_at DESC, id DESC)',
  );
  await knex.raw('CREATE INDEX conversations_inbox_by_channel ON conversations (channel_id, status, last_message_at DESC, id DESC)');
  await knex.raw('CREATE INDEX conversations_by_contact ON conversations (contact_id)');
  await knex.raw('CREATE INDEX conversations_by_assignee ON conversations (assignee_id) WHERE assignee_id IS NOT NULL');

  // Notes and activity entries share the messages' sequence, so the timeline is one order.
  // A table of their own: nothing that reads messages (the widget, the adapters) can see a note.
  await knex.schema.createTable('conversation_entries', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.bigInteger('seq').notNullable().defaultTo(knex.raw("nextval('messages_seq_seq')"));
    t.uuid('conversation_id').notNullable().references('conversations.id').onDelete('CASCADE');
    t.enu('kind', ['note', 'activity']).notNullable();
    t.text('content').notNullable().defaultTo('');
    // For an activity: {"type":"status_changed","from","to","snoozed_until"?} or {"type":"assignee_changed","from","to"}.
    t.jsonb('activity');
    // Who: a user or an API key; neither is PingBack itself (a snooze ending, a customer writing).
    t.uuid('author_user_id').references('users.id').onDelete('SET NULL');
    t.uuid('author_api_key_id').references('api_keys.id').onDelete('SET NULL');
    // As a reply's: the same id again is the same note.
    t.text('client_id');
    t.timestamps(true, true);
    t.index(['conversation_id', 'seq']);
    t.unique(['conversation_id', 'client_id']);
  });

  // Each user's read marker per conversation: customer messages after it are unread.
  await knex.schema.createTable('conversation_reads', (t) => {
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.uuid('conversation_id').notNullable().references('conversations.id').onDelete('CASCADE');
    t.bigInteger('last_read_seq').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['user_id', 'conversation_id']);
    // A conversation deleted with its channel or account finds its markers without a scan.
    t.index(['conversation_id']);
  });

  // The inbox's badges without counting 100,000 rows: kept by a trigger on conversations.
  await knex.raw(`
    CREATE TABLE conversation_counts (
      account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      channel_type text NOT NULL,
      status text NOT NULL,
      assignee_id uuid,
      n bigint NOT NULL,
      CONSTRAINT conversation_counts_key UNIQUE NULLS NOT DISTINCT (account_id, channel_type, status, assignee_id)
    )`);
  // Transition tables need one trigger per operation. Each adds what came in and takes away what
  // went out, one upsert per changed key, in key order so concurrent statements lock the rows alike.
  await knex.raw(`
    CREATE FUNCTION pingback_count_conversations_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO conversation_counts AS cc (account_id, channel_type, status, assignee_id, n)
      SELECT account_id, channel_type, status, assignee_id, count(*) FROM new_rows
      GROUP BY account_id, channel_type, status, assignee_id
      ORDER BY account_id, channel_type, status, assignee_id
      ON CONFLICT (account_id, channel_type, status, assignee_id) DO UPDATE SET n = cc.n + EXCLUDED.n;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE FUNCTION pingback_count_conversations_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE conversation_counts cc SET n = cc.n - d.n
      FROM (SELECT account_id, channel_type, status, assignee_id, count(*) AS n FROM old_rows
            GROUP BY account_id, channel_type, status, assignee_id) d
      WHERE (cc.account_id, cc.channel_type, cc.status) = (d.account_id, d.channel_type, d.status)
        AND cc.assignee_id IS NOT DISTINCT FROM d.assignee_id;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE FUNCTION pingback_count_conversations_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO conversation_counts AS cc (account_id, channel_type, status, assignee_id, n)
      SELECT account_id, channel_type, status, assignee_id, sum(d) FROM (
        SELECT account_id, channel_type, status, assignee_id, 1 AS d FROM new_rows
        UNION ALL
        SELECT account_id, channel_type, status, assignee_id, -1 AS d FROM old_rows
      ) changes
      GROUP BY account_id, channel_type, status, assignee_id
      HAVING sum(d) <> 0
      ORDER BY account_id, channel_type, status, assignee_id
      ON CONFLICT (account_id, channel_type, status, assignee_id) DO UPDATE SET n = cc.n + EXCLUDED.n;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER conversations_count_insert AFTER INSERT ON conversations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pingback_count_conversations_insert()`);
  await knex.raw(`CREATE TRIGGER conversations_count_update AFTER UPDATE ON conversations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pingback_count_conversations_update()`);
  await knex.raw(`CREATE TRIGGER conversations_count_delete AFTER DELETE ON conversations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION pingback_count_conversations_delete()`);
  // Conversations from before this migration.
  await knex.raw(`INSERT INTO conversation_counts (account_id, channel_type, status, assignee_id, n)
    SELECT account_id, channel_type, status, assignee_id, count(*) FROM conversations GROUP BY 1, 2, 3, 4`);

  // While a reply is retrying: when the next try comes (the platform's delay or the retry policy's), for the timeline.
  await knex.schema.alterTable('messages', (t) => {
    t.timestamp('next_attempt_at', { useTz: true });
  });

  // Search: contacts by name or handle (trigram, any part of a word), messages by their words.
  await knex.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  await knex.raw(
    "CREATE INDEX contacts_search ON contacts USING gin ((coalesce(name, '') || ' ' || coalesce(username, '') || ' ' || platform_user_id) gin_trgm_ops)",
  );
  await knex.raw("CREATE INDEX messages_search ON messages USING gin (to_tsvector('simple', content))");

  // Authors are never deleted by PingBack (users are disabled, keys revoked), but a deletion by hand
  // (SET NULL) should not scan every message: only replies and entries carry an author.
  await knex.raw('CREATE INDEX messages_author_user ON messages (author_user_id) WHERE author_user_id IS NOT NULL');
  await knex.raw('CREATE INDEX messages_author_api_key ON messages (author_api_key_id) WHERE author_api_key_id IS NOT NULL');
  await knex.raw('CREATE INDEX conversation_entries_author_user ON conversation_entries (author_user_id) WHERE author_user_id IS NOT NULL');
  await knex.raw('CREATE INDEX conversation_entries_author_api_key ON conversation_entries (author_api_key_id) WHERE author_api_key_id IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('next_attempt_at');
  });
  for (const index of ['messages_author_user', 'messages_author_api_key']) await knex.raw(`DROP INDEX IF EXISTS ${index}`);
  await knex.raw('DROP INDEX IF EXISTS messages_search');
  await knex.raw('DROP INDEX IF EXISTS contacts_search');
  await knex.raw('DROP TRIGGER IF EXISTS conversations_count_insert ON conversations');
  await knex.raw('DROP TRIGGER IF EXISTS conversations_count_update ON conversations');
  await knex.raw('DROP TRIGGER IF EXISTS conversations_count_delete ON conversations');
  await knex.raw('DROP FUNCTION IF EXISTS pingback_count_conversations_insert()');
  await knex.raw('DROP FUNCTION IF EXISTS pingback_count_conversations_update()');
  await knex.raw('DROP FUNCTION IF EXISTS pingback_count_conversations_delete()');
  await knex.schema.dropTableIfExists('conversation_counts');
  await knex.schema.dropTableIfExists('conversation_reads');
  await knex.schema.dropTableIfExists('conversation_entries');
  for (const index of [
    'conversations_inbox_by_assignee',
    'conversations_inbox_by_status_type',
    'conversations_inbox_by_channel',
    'conversations_by_contact',
    'conversations_by_assignee',
  ]) {
    await knex.raw(`DROP INDEX IF EXISTS ${index}`);
  }
  await knex.raw('ALTER TABLE conversations DROP CONSTRAINT conversations_snooze_check');
  await knex.schema.alterTable('conversations', (t) => {
    t.dropColumn('snoozed_until');
    t.dropColumn('assignee_id');
  });
  // Statuses the old schema does not know become the nearest it does.
  await knex.raw("UPDATE conversations SET status = 'open' WHERE status IN ('pending', 'snoozed')");
  await knex.raw('ALTER TABLE conversations DROP CONSTRAINT conversations_status_check');
  await knex.raw("ALTER TABLE conversations ADD CONSTRAINT conversations_status_check CHECK (status IN ('open', 'resolved'))");
}
