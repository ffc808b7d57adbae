import type { Knex } from 'knex';

/**
 * The inbox's event stream (GET /api/events) and its timeline's activity entries, both written
 * by triggers in the transaction that makes the change, whoever makes it (the API, the activity
 * storing a customer's message, a platform's status): nothing can change a conversation and
 * forget to say so.
 *
 * An events row names what changed; the stream reads the object's current snapshot when it
 * sends the event. The stream's order is the id, read carefully: ids are taken before commit,
 * so a transaction that took a smaller id can commit after one with a larger id, and a reader
 * must not pass the gap it leaves until that transaction has ended (src/events/hub.ts).
 */
const FUNCTIONS: Array<[name: string, body: string]> = [
  // A snapshot is applied when it is newer than the one a screen holds: updated_at must grow with
  // every change of a row, even between transactions that started in the other order (now() is a
  // transaction's start). Under the row's lock, so one row's values never go back.
  [
    'pingback_touch',
    `BEGIN
       NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at + interval '1 microsecond');
       RETURN NEW;
     END`,
  ],
  // Every API process LISTENs; the payload is the newest id, the rows are read from the table.
  [
    'pingback_notify_events',
    `DECLARE newest bigint;
     BEGIN
       SELECT max(id) INTO newest FROM new_rows;
       IF newest IS NOT NULL THEN PERFORM pg_notify('pingback_events', newest::text); END IF;
       RETURN NULL;
     END`,
  ],
  [
    'pingback_messages_created',
    `BEGIN
       INSERT INTO events (account_id, type, conversation_id, message_id)
       SELECT c.account_id, 'message.created', n.conversation_id, n.id
       FROM new_rows n JOIN conversations c ON c.id = n.conversation_id ORDER BY n.seq;
       RETURN NULL;
     END`,
  ],
  // What the timeline shows of a reply: its status, attempts and error, its platform id, its files.
  [
    'pingback_messages_updated',
    `BEGIN
       INSERT INTO events (account_id, type, conversation_id, message_id)
       SELECT c.account_id, 'message.updated', n.conversation_id, n.id
       FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN conversations c ON c.id = n.conversation_id
       WHERE (n.status, n.attempts, n.error, n.next_attempt_at, n.platform_message_id, n.sent_at, n.content, n.attachments)
             IS DISTINCT FROM (o.status, o.attempts, o.error, o.next_attempt_at, o.platform_message_id, o.sent_at, o.content, o.attachments)
       ORDER BY n.seq;
       RETURN NULL;
     END`,
  ],
  // A reply Temporal never took is deleted: screens that showed it take it away.
  [
    'pingback_messages_deleted',
    `BEGIN
       INSERT INTO events (account_id, type, conversation_id, message_id)
       SELECT c.account_id, 'message.deleted', o.conversation_id, o.id
       FROM old_rows o JOIN conversations c ON c.id = o.conversation_id;
       RETURN NULL;
     END`,
  ],
  [
    'pingback_entries_created',
    `BEGIN
       INSERT INTO events (account_id, type, conversation_id, entry_id)
       SELECT c.account_id, 'message.created', n.conversation_id, n.id
       FROM new_rows n JOIN conversations c ON c.id = n.conversation_id ORDER BY n.seq;
       RETURN NULL;
     END`,
  ],
  [
    'pingback_conversations_created',
    `BEGIN
       INSERT INTO events (account_id, type, conversation_id) SELECT account_id, 'conversation.created', id FROM new_rows;
       RETURN NULL;
     END`,
  ],
  // A redelivered message touches the row (updated_at) but changes nothing an agent sees: no event.
  [
    'pingback_conversations_updated',
    `BEGIN
       INSERT INTO events (account_id, type, conversation_id)
       SELECT n.account_id, 'conversation.updated', n.id
       FROM new_rows n JOIN old_rows o ON o.id = n.id
       WHERE (n.status, n.snoozed_until, n.assignee_id, n.last_message_at, n.contact_id)
             IS DISTINCT FROM (o.status, o.snoozed_until, o.assignee_id, o.last_message_at, o.contact_id);
       RETURN NULL;
     END`,
  ],
  /*
   * The timeline's activity entries: a change of status or assignee, from the rows as they really
   * were (a statement's own snapshot can be older than the row it ends up updating). Who made it
   * comes from transaction-local settings the writer sets (src/inbox/activity.ts): a user, an API
   * key, or neither, PingBack itself, with a reason. Written after the statement's messages, so a
   * customer message comes before the reopening it caused.
   */
  [
    'pingback_conversations_activity',
    `DECLARE
       actor_user uuid := nullif(current_setting('pingback.actor_user_id', true), '')::uuid;
       actor_key uuid := nullif(current_setting('pingback.actor_api_key_id', true), '')::uuid;
       why text := nullif(current_setting('pingback.reason', true), '');
     BEGIN
       INSERT INTO conversation_entries (conversation_id, kind, activity, author_user_id, author_api_key_id)
       SELECT n.id, 'activity',
              jsonb_build_object('type', 'status_changed', 'from', o.status, 'to', n.status)
                || CASE WHEN n.status = 'snoozed' THEN jsonb_build_object('snoozed_until', to_char(n.snoozed_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) ELSE '{}' END
                || CASE WHEN why IS NOT NULL THEN jsonb_build_object('reason', why) ELSE '{}' END,
              actor_user, actor_key
       FROM new_rows n JOIN old_rows o ON o.id = n.id
       WHERE n.status IS DISTINCT FROM o.status OR (n.status = 'snoozed' AND n.snoozed_until IS DISTINCT FROM o.snoozed_until)
       UNION ALL
       SELECT n.id, 'activity',
              jsonb_build_object(
                'type', 'assignee_changed',
                'from', CASE WHEN o.assignee_id IS NULL THEN NULL ELSE jsonb_build_object('id', o.assignee_id, 'name', coalesce(uo.name, 'a former user')) END,
                'to', CASE WHEN n.assignee_id IS NULL THEN NULL ELSE jsonb_build_object('id', n.assignee_id, 'name', coalesce(un.name, 'a former user')) END),
              actor_user, actor_key
       FROM new_rows n JOIN old_rows o ON o.id = n.id
       LEFT JOIN users uo ON uo.id = o.assignee_id
       LEFT JOIN users un ON un.id = n.assignee_id
       WHERE n.assignee_id IS DISTINCT FROM o.assignee_id;
       RETURN NULL;
     END`,
  ],
  // A customer renaming themselves shows in every conversation of theirs.
  [
    'pingback_contacts_updated',
    `BEGIN
       INSERT INTO events (account_id, type, conversation_id)
       SELECT c.account_id, 'conversation.updated', c.id
       FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN conversations c ON c.contact_id = n.id
       WHERE (n.name, n.username) IS DISTINCT FROM (o.name, o.username);
       RETURN NULL;
     END`,
  ],
  [
    'pingback_channels_created',
    `BEGIN
       INSERT INTO events (account_id, type, channel_id) SELECT account_id, 'channel.created', id FROM new_rows;
       RETURN NULL;
     END`,
  ],
  [
    'pingback_channels_updated',
    `BEGIN
       INSERT INTO events (account_id, type, channel_id)
       SELECT n.account_id, 'channel.updated', n.id
       FROM new_rows n JOIN old_rows o ON o.id = n.id
       WHERE (n.name, n.status, n.status_message, n.is_active, n.config)
             IS DISTINCT FROM (o.name, o.status, o.status_message, o.is_active, o.config);
       RETURN NULL;
     END`,
  ],
  // Open event streams of a session that ended or a key revoked end too (src/events/hub.ts).
  [
    'pingback_notify_access_ended',
    `BEGIN
       PERFORM pg_notify('pingback_access_ended', '');
       RETURN NULL;
     END`,
  ],
];

// [trigger, table, when, transition tables, function, level]
const TRIGGERS: Array<[string, string, string, string, string, 'ROW' | 'STATEMENT']> = [
  ...['conversations', 'messages', 'conversation_entries', 'channels'].map(
    (table) => [`${table}_touch`, table, 'BEFORE UPDATE', '', 'pingback_touch', 'ROW'] as [string, string, string, string, string, 'ROW'],
  ),
  ['events_notify', 'events', 'AFTER INSERT', 'NEW TABLE AS new_rows', 'pingback_notify_events', 'STATEMENT'],
  ['messages_events_insert', 'messages', 'AFTER INSERT', 'NEW TABLE AS new_rows', 'pingback_messages_created', 'STATEMENT'],
  ['messages_events_update', 'messages', 'AFTER UPDATE', 'OLD TABLE AS old_rows NEW TABLE AS new_rows', 'pingback_messages_updated', 'STATEMENT'],
  ['messages_events_delete', 'messages', 'AFTER DELETE', 'OLD TABLE AS old_rows', 'pingback_messages_deleted', 'STATEMENT'],
  ['conversation_entries_events_insert', 'conversation_entries', 'AFTER INSERT', 'NEW TABLE AS new_rows', 'pingback_entries_created', 'STATEMENT'],
  ['conversations_events_insert', 'conversations', 'AFTER INSERT', 'NEW TABLE AS new_rows', 'pingback_conversations_created', 'STATEMENT'],
  ['conversations_events_update', 'conversations', 'AFTER UPDATE', 'OLD TABLE AS old_rows NEW TABLE AS new_rows', 'pingback_conversations_updated', 'STATEMENT'],
  ['conversations_activity', 'conversations', 'AFTER UPDATE', 'OLD TABLE AS old_rows NEW TABLE AS new_rows', 'pingback_conversations_activity', 'STATEMENT'],
  ['contacts_events_update', 'contacts', 'AFTER UPDATE', 'OLD TABLE AS old_rows NEW TABLE AS new_rows', 'pingback_contacts_updated', 'STATEMENT'],
  ['channels_events_insert', 'channels', 'AFTER INSERT', 'NEW TABLE AS new_rows', 'pingback_channels_created', 'STATEMENT'],
  ['channels_events_update', 'channels', 'AFTER UPDATE', 'OLD TABLE AS old_rows NEW TABLE AS new_rows', 'pingback_channels_updated', 'STATEMENT'],
  ['sessions_access_ended', 'sessions', 'AFTER DELETE', '', 'pingback_notify_access_ended', 'STATEMENT'],
  ['api_keys_access_ended', 'api_keys', 'AFTER UPDATE OF revoked_at', '', 'pingback_notify_access_ended', 'STATEMENT'],
];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE events (
      id bigserial PRIMARY KEY,
      account_id uuid NOT NULL,
      type text NOT NULL,
      conversation_id uuid,
      message_id uuid,
      entry_id uuid,
      channel_id uuid,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX events_account_order ON events (account_id, id)');
  // Pruned by age; rows arrive in time order, which a BRIN index tracks for almost nothing.
  await knex.raw('CREATE INDEX events_created_at ON events USING brin (created_at)');
  // The newest id pruned: a client asking to resume from before it may have missed pruned events.
  await knex.raw(`CREATE TABLE events_pruned (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), id bigint NOT NULL)`);

  for (const [name, body] of FUNCTIONS) await knex.raw(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ ${body} $$`);
  for (const [trigger, table, when, transition, fn, level] of TRIGGERS) {
    await knex.raw(`CREATE TRIGGER ${trigger} ${when} ON ${table} ${transition ? `REFERENCING ${transition}` : ''} FOR EACH ${level} EXECUTE FUNCTION ${fn}()`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const [trigger, table] of TRIGGERS) await knex.raw(`DROP TRIGGER IF EXISTS ${trigger} ON ${table}`);
  for (const [name] of FUNCTIONS) await knex.raw(`DROP FUNCTION IF EXISTS ${name}()`);
  await knex.raw('DROP TABLE IF EXISTS events_pruned');
  await knex.raw('DROP TABLE IF EXISTS events');
}
