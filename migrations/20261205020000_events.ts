import type { Knex } from 'knex';

/**
 * The inbox's event stream (GET /api/events): one row per change an agent's screen shows,
 * written by triggers in the same transaction as the change, whoever made it (the API, an
 * activity storing a customer's message, a platform's status). A row names what changed;
 * the stream reads the object's current snapshot when it sends the event.
 *
 * `xid` orders the stream safely. Ids are taken before commit, so a transaction that took a
 * smaller id can commit after one with a larger id, and a reader following ids alone would
 * pass it for good. Every transaction with an xid below the oldest one still running has
 * ended, so rows below that horizon, in (xid, id) order, never gain a predecessor
 * (src/events/hub.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE events (
      id bigserial PRIMARY KEY,
      xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
      account_id uuid NOT NULL,
      type text NOT NULL,
      conversation_id uuid,
      message_id uuid,
      entry_id uuid,
      channel_id uuid,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX events_order ON events (xid, id)');
  await knex.raw('CREATE INDEX events_account_order ON events (account_id, xid, id)');
  // Pruned by age; rows arrive in time order, which a BRIN index tracks for almost nothing.
  await knex.raw('CREATE INDEX events_created_at ON events USING brin (created_at)');

  // Every API process LISTENs; the payload is the newest id, the rows are read from the table.
  await knex.raw(`
    CREATE FUNCTION pingback_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE newest bigint;
    BEGIN
      SELECT max(id) INTO newest FROM new_rows;
      IF newest IS NOT NULL THEN PERFORM pg_notify('pingback_events', newest::text); END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER events_notify AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pingback_notify_events()`);

  await knex.raw(`
    CREATE FUNCTION pingback_messages_created() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO events (account_id, type, conversation_id, message_id)
      SELECT c.account_id, 'message.created', n.conversation_id, n.id
      FROM new_rows n JOIN conversations c ON c.id = n.conversation_id ORDER BY n.seq;
      RETURN NULL;
    END $$`);
  // What the timeline shows of a reply: its status, attempts and error, its platform id, its files.
  await knex.raw(`
    CREATE FUNCTION pingback_messages_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO events (account_id, type, conversation_id, message_id)
      SELECT c.account_id, 'message.updated', n.conversation_id, n.id
      FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN conversations c ON c.id = n.conversation_id
      WHERE (n.status, n.attempts, n.error, n.platform_message_id, n.sent_at, n.content, n.attachments)
            IS DISTINCT FROM (o.status, o.attempts, o.error, o.platform_message_id, o.sent_at, o.content, o.attachments)
      ORDER BY n.seq;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER messages_events_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pingback_messages_created()`);
  await knex.raw(`CREATE TRIGGER messages_events_update AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pingback_messages_updated()`);

  await knex.raw(`
    CREATE FUNCTION pingback_entries_created() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO events (account_id, type, conversation_id, entry_id)
      SELECT c.account_id, 'message.created', n.conversation_id, n.id
      FROM new_rows n JOIN conversations c ON c.id = n.conversation_id ORDER BY n.seq;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER conversation_entries_events_insert AFTER INSERT ON conversation_entries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pingback_entries_created()`);

  await knex.raw(`
    CREATE FUNCTION pingback_conversations_created() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO events (account_id, type, conversation_id)
      SELECT account_id, 'conversation.created', id FROM new_rows;
      RETURN NULL;
    END $$`);
  // A redelivered message touches the row (updated_at) but changes nothing an agent sees: no event.
  await knex.raw(`
    CREATE FUNCTION pingback_conversations_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO events (account_id, type, conversation_id)
      SELECT n.account_id, 'conversation.updated', n.id
      FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE (n.status, n.snoozed_until, n.assignee_id, n.last_message_at, n.contact_id)
            IS DISTINCT FROM (o.status, o.snoozed_until, o.assignee_id, o.last_message_at, o.contact_id);
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER conversations_events_insert AFTER INSERT ON conversations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pingback_conversations_created()`);
  await knex.raw(`CREATE TRIGGER conversations_events_update AFTER UPDATE ON conversations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pingback_conversations_updated()`);

  await knex.raw(`
    CREATE FUNCTION pingback_channels_created() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO events (account_id, type, channel_id) SELECT account_id, 'channel.created', id FROM new_rows;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE FUNCTION pingback_channels_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO events (account_id, type, channel_id)
      SELECT n.account_id, 'channel.updated', n.id
      FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE (n.name, n.status, n.status_message, n.is_active, n.config)
            IS DISTINCT FROM (o.name, o.status, o.status_message, o.is_active, o.config);
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER channels_events_insert AFTER INSERT ON channels
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pingback_channels_created()`);
  await knex.raw(`CREATE TRIGGER channels_events_update AFTER UPDATE ON channels
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pingback_channels_updated()`);
}

const TRIGGERS: Array<[string, string, string]> = [
  ['messages_events_insert', 'messages', 'pingback_messages_created'],
  ['messages_events_update', 'messages', 'pingback_messages_updated'],
  ['conversation_entries_events_insert', 'conversation_entries', 'pingback_entries_created'],
  ['conversations_events_insert', 'conversations', 'pingback_conversations_created'],
  ['conversations_events_update', 'conversations', 'pingback_conversations_updated'],
  ['channels_events_insert', 'channels', 'pingback_channels_created'],
  ['channels_events_update', 'channels', 'pingback_channels_updated'],
  ['events_notify', 'events', 'pingback_notify_events'],
];

export async function down(knex: Knex): Promise<void> {
  for (const [trigger, table, fn] of TRIGGERS) {
    await knex.raw(`DROP TRIGGER IF EXISTS ${trigger} ON ${table}`);
    await knex.raw(`DROP FUNCTION IF EXISTS ${fn}()`);
  }
  await knex.raw('DROP TABLE IF EXISTS events');
}
