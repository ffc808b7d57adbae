import { createHash } from 'node:crypto';
import { describeDbError, isDataError } from '../src/db/pg-errors';
import { storable } from '../src/db/storable';
import { linkStoredMedia } from '../src/db/stored-media';
import { recordIgnoredEvents } from '../src/db/ignored-events';
import type { Db } from '../src/db/knex';
import { type PreparedStatement, queryPrepared } from '../src/db/prepared';
import type { ConversationRef, InboundMessage } from '../src/channels/types';

export interface PersistInboundInput extends ConversationRef {
  workflowId: string;
  messages: InboundMessage[];
}

export interface PersistInboundResult {
  conversationId: string | null;
  stored: number;
  duplicates: number;
  /** Messages PostgreSQL refused for what they hold (kept in ignored_events as `unstorable`, with its reason). */
  setAside?: Array<{ platformMessageId: string; problem: string }>;
  ignored?: 'channel_inactive' | 'channel_not_found';
  /** When something was stored: the conversation's last_message_at, which also reopened it. */
  lastMessageAt?: string;
}

/**
 * Stores a batch of a conversation's inbound messages atomically, in order. Safe
 * to run twice: the contact, the conversation and each message are keyed by the
 * platform's ids, so a retry or a platform redelivery stores nothing new.
 *
 * The usual case (an active channel) is one prepared SQL statement, so one round trip
 * and, once a connection has run it a few times, no planning: this runs inside the
 * conversation's workflow task, once per message in a quiet conversation. The seven
 * round trips of a transaction were most of the worker's cost per message, and
 * planning the statement afresh each time was most of PostgreSQL's (see README
 * "Benchmark").
 */
export function makePersistInbound(db: Db) {
  /**
   * A batch PostgreSQL refuses for its data (a value too long for an index, a malformed time)
   * would be refused on every retry, wedging the conversation behind it: its messages are then
   * stored one by one, and the one that cannot be is set aside where an operator sees it, with
   * PostgreSQL's reason, and the conversation goes on. Outages are thrown, and retried.
   */
  return async function persistInbound(received: PersistInboundInput): Promise<PersistInboundResult> {
    if (received.messages.length === 0) return { conversationId: null, stored: 0, duplicates: 0 };
    const input = storable(received);
    try {
      return await storeBatch(db, input);
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (input.messages.length === 1) return setAsideUnstorable(db, input, input.messages[0], err);
      let merged: PersistInboundResult = { conversationId: null, stored: 0, duplicates: 0 };
      for (const message of input.messages) {
        const one = await storeBatch(db, { ...input, messages: [message] }).catch((e: unknown) => {
          if (!isDataError(e)) throw e;
          return setAsideUnstorable(db, input, message, e);
        });
        merged = mergeResults(merged, one);
      }
      return merged;
    }
  };
}

/** The results of a batch stored message by message, as one. */
function mergeResults(a: PersistInboundResult, b: PersistInboundResult): PersistInboundResult {
  const setAside = [...(a.setAside ?? []), ...(b.setAside ?? [])];
  const lastMessageAt = b.lastMessageAt ?? a.lastMessageAt;
  const ignored = b.ignored ?? a.ignored;
  return {
    conversationId: b.conversationId ?? a.conversationId,
    stored: a.stored + b.stored,
    duplicates: a.duplicates + b.duplicates,
    ...(setAside.length ? { setAside } : {}),
    ...(lastMessageAt ? { lastMessageAt } : {}),
    ...(ignored ? { ignored } : {}),
  };
}

/** Longest a string of a set-aside message is kept in ignored_events: enough to recognise it, never the thing that broke the write. */
const SET_ASIDE_TEXT_CHARS = 2_000;

/**
 * A message PostgreSQL will not store, kept in ignored_events (`unstorable`) with the reason:
 * its strings cut short and keyed by a digest of its id (the id may be what did not fit).
 */
async function setAsideUnstorable(db: Db, input: PersistInboundInput, message: InboundMessage, err: unknown): Promise<PersistInboundResult> {
  const problem = describeDbError(err);
  // The id is the platform's, or the sender's (a Message-ID): the same one in two conversations is two rows.
  const key = `unstorable:${createHash('sha256').update(`${input.threadKey}\n${message.platformMessageId}`).digest('hex').slice(0, 40)}`;
  const cut = (v: unknown): unknown =>
    typeof v === 'string' ? v.slice(0, SET_ASIDE_TEXT_CHARS) : Array.isArray(v) ? v.slice(0, 50).map(cut) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).slice(0, 50).map(([k, x]) => [k.slice(0, 100), cut(x)])) : v;
  const record = (payload: unknown) => recordIgnoredEvents(db, [{ channel_id: input.channelId, reason: 'unstorable', platform_event_id: key, payload }]);
  await record({ problem, thread_key: cut(input.threadKey), message: cut(message) }).catch((err: unknown) => {
    // Even the shortened message will not go in (nesting too deep): what went wrong and the key, at least.
    if (!isDataError(err)) throw err;
    return record({ problem, thread_key: cut(input.threadKey), message_dropped: describeDbError(err) });
  });
  return { conversationId: null, stored: 0, duplicates: 0, setAside: [{ platformMessageId: message.platformMessageId.slice(0, 200), problem }] };
}

async function storeBatch(db: Db, input: PersistInboundInput): Promise<PersistInboundResult> {
  const rows = await queryPrepared<StoreRow>(db, storeStatement(input));
  const row = rows[0];
  // No active channel: nothing was written; find out why and keep the messages aside.
  if (!row.channel_active) return persistForInactiveChannel(db, input);
  // The sender's contact was committed by another statement (another conversation of theirs, or
  // a timed-out attempt of this one) after this statement's snapshot was taken: this one could
  // neither see it nor insert it. A retry sees it.
  if (!row.conversation_id) {
    throw new Error(`the contact of ${input.threadKey} was created by a concurrent statement; retrying`);
  }
  const stored = Number(row.stored);
  // Files PingBack keeps (web chat uploads, mail by webhook) become the stored messages' own.
  const withFiles = input.messages.filter((m) => m.attachments.some((a) => a.storedMediaId));
  if (withFiles.length > 0) await linkStoredMedia(db, input.channelId, row.conversation_id, withFiles);
  return {
    conversationId: row.conversation_id,
    stored,
    duplicates: input.messages.length - stored,
    ...(stored > 0 ? { lastMessageAt: new Date(row.last_message_at).toISOString() } : {}),
  };
}

/** The one statement that stores a batch (exported so a test can read its plan). */
export function storeStatement(input: PersistInboundInput): PreparedStatement {
  const last = input.messages[input.messages.length - 1];
  const batch = input.messages.map((m, ord) => ({
    ord,
    platform_message_id: m.platformMessageId,
    content: m.content,
    content_type: m.contentType,
    attachments: m.attachments,
    metadata: m.sender ? { ...m.metadata, sender: m.sender } : m.metadata,
    platform_timestamp: m.platformTimestamp ?? null,
  }));
  return {
    name: 'pingback_store_inbound',
    text: STORE_SQL,
    values: [
      input.channelId,
      input.accountId,
      input.channelType,
      input.threadKey,
      input.workflowId,
      last.contact.platformUserId,
      last.contact.name ?? null,
      last.contact.username ?? null,
      JSON.stringify(batch),
    ],
  };
}

interface StoreRow {
  channel_active: boolean;
  conversation_id: string | null;
  last_message_at: Date;
  stored: string;
}

/*
 * One statement, so atomic without a transaction. Every CTE sees the database as
 * it was before the statement, which is why whether the batch holds anything new
 * is worked out first (`fresh`) and the conversation is reopened and bumped in its
 * own upsert rather than by a second update of the row. A conversation's batches
 * run one at a time (its workflow persists one batch at a time), except when a retry
 * starts while a timed-out attempt is still running in PostgreSQL: the unique index
 * then drops the duplicates, and at worst the retry moves last_message_at (and reopens
 * the conversation) without storing anything new.
 */
const STORE_SQL = `
WITH p AS (
  SELECT $1::uuid AS channel_id, $2::uuid AS account_id, $3::text AS channel_type, $4::text AS thread_key,
         $5::text AS workflow_id, $6::text AS user_id, $7::text AS user_name, $8::text AS user_username, $9::jsonb AS batch
),
ch AS (SELECT c.id FROM channels c, p WHERE c.id = p.channel_id AND c.is_active),
batch AS (
  SELECT m.* FROM p, jsonb_to_recordset(p.batch) AS m(
    ord int, platform_message_id text, content text, content_type text, attachments jsonb, metadata jsonb, platform_timestamp timestamptz)
),
fresh AS (
  -- A lookup per batch message on the dedup index: joined as a plain anti-join, the planner
  -- walked every inbound message of the conversation, so each new message cost more than the last.
  SELECT 1 FROM batch b
  LEFT JOIN LATERAL (
    SELECT 1 AS seen FROM conversations c JOIN messages m ON m.conversation_id = c.id, p
    WHERE c.channel_id = p.channel_id AND c.thread_key = p.thread_key
      AND m.direction = 'inbound' AND m.platform_message_id = b.platform_message_id
    LIMIT 1
  ) s ON true
  WHERE s.seen IS NULL
  LIMIT 1
),
upserted_contact AS (
  INSERT INTO contacts (channel_id, platform_user_id, name, username)
  SELECT ch.id, p.user_id, p.user_name, p.user_username FROM ch, p
  ON CONFLICT (channel_id, platform_user_id) DO UPDATE SET
    -- A customer renaming themselves shows up; a payload without a name keeps the old one.
    name = COALESCE(EXCLUDED.name, contacts.name),
    username = COALESCE(EXCLUDED.username, contacts.username),
    updated_at = now()
  -- Most messages change nothing about their sender: no new row version for them (the row is
  -- still locked, as ON CONFLICT always does).
  WHERE (contacts.name, contacts.username) IS DISTINCT FROM
        (COALESCE(EXCLUDED.name, contacts.name), COALESCE(EXCLUDED.username, contacts.username))
  RETURNING id
),
contact AS (
  SELECT id FROM upserted_contact
  UNION ALL
  SELECT k.id FROM contacts k, ch, p
  WHERE k.channel_id = ch.id AND k.platform_user_id = p.user_id AND NOT EXISTS (SELECT 1 FROM upserted_contact)
),
-- When the customer wrote, as their platform says (WhatsApp's 24-hour window counts from it).
-- Never later than now: a platform's clock ahead of ours must not hold a window open.
wrote AS (SELECT LEAST(COALESCE(max(platform_timestamp), now()), now()) AS at FROM batch),
conv AS (
  INSERT INTO conversations (account_id, channel_id, channel_type, contact_id, thread_key, workflow_id, last_inbound_at)
  SELECT p.account_id, p.channel_id, p.channel_type, contact.id, p.thread_key, p.workflow_id, wrote.at FROM contact, p, wrote
  ON CONFLICT (channel_id, thread_key) DO UPDATE SET
    updated_at = now(),
    last_inbound_at = CASE WHEN EXISTS (SELECT 1 FROM fresh) THEN GREATEST(conversations.last_inbound_at, (SELECT at FROM wrote)) ELSE conversations.last_inbound_at END,
    -- A customer writing again reopens a resolved, pending or snoozed conversation; a redelivery changes nothing.
    last_message_at = CASE WHEN EXISTS (SELECT 1 FROM fresh) THEN now() ELSE conversations.last_message_at END,
    status = CASE WHEN EXISTS (SELECT 1 FROM fresh) THEN 'open' ELSE conversations.status END,
    snoozed_until = CASE WHEN EXISTS (SELECT 1 FROM fresh) THEN NULL ELSE conversations.snoozed_until END
  RETURNING id, last_message_at
),
ins AS (
  INSERT INTO messages (conversation_id, direction, platform_message_id, content, content_type, attachments, metadata, status, platform_timestamp)
  SELECT conv.id, 'inbound', b.platform_message_id, b.content, b.content_type, b.attachments, b.metadata, 'received', b.platform_timestamp
  FROM conv, batch b
  -- Rows take their seq in this order: the order the workflow received them.
  ORDER BY b.ord
  ON CONFLICT (conversation_id, direction, platform_message_id) DO NOTHING
  RETURNING 1
),
-- A reopening is the customer's doing: the trigger writing the timeline's activity entry says so.
reason AS (SELECT set_config('pingback.reason', 'customer_message', true))
SELECT EXISTS (SELECT 1 FROM ch) AS channel_active, (SELECT id FROM conv) AS conversation_id, (SELECT last_message_at FROM conv) AS last_message_at, (SELECT count(*) FROM ins) AS stored, (SELECT count(*) FROM reason) AS reason_set`;

/** The channel is gone or deactivated (raced with the ingress's check): never routed into the inbox. */
async function persistForInactiveChannel(db: Db, input: PersistInboundInput): Promise<PersistInboundResult> {
  return db.transaction(async (trx) => {
    const channel = await trx('channels').where({ id: input.channelId }).first('id', 'is_active');
    if (!channel) return { conversationId: null, stored: 0, duplicates: input.messages.length, ignored: 'channel_not_found' };
    if (channel.is_active) throw new Error(`channel ${input.channelId} became active while its messages were being stored; retrying`);
    await recordIgnoredEvents(
      trx,
      input.messages.map((m) => ({ channel_id: input.channelId, reason: 'channel_inactive', platform_event_id: m.platformMessageId, payload: m })),
    );
    return { conversationId: null, stored: 0, duplicates: 0, ignored: 'channel_inactive' };
  });
}
