/**
 * A large inbox, fast: an account's channels (one of each type), contacts, conversations,
 * messages, a few notes, read markers and the counts, each table filled by one INSERT …
 * SELECT over generate_series, so a million messages take one statement, not a million
 * round trips. Used by the inbox's plan test and by `npm run bench:inbox`.
 *
 * The mix is deterministic (hashes of the row number, not random()), so two runs seed the
 * same inbox: mostly open conversations, some pending, snoozed and resolved; most
 * unassigned, the rest spread over a few users; 1 to 19 messages each (10 on average),
 * customers' and replies, in time order across the account, as a running inbox stores
 * them; text from a word list whose first words are the most common, so a search finds
 * many conversations for a common word and few for a rare one.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { CHANNEL_TYPES, type ChannelType } from '../../src/channels/types';
import type { Db } from '../../src/db/knex';

export interface SeedOptions {
  /** An account made through the API (so its admin can sign in); without one, a new account. */
  accountId?: string;
  conversations: number;
  /** Users of the account who get conversations assigned, besides the agents the seeder adds. */
  assignees?: string[];
  /** Agents the seeder adds to the account, each with conversations assigned (default 4). */
  extraAgents?: number;
  /** A user who has read about half of the conversations (all of most of those, part of the rest). */
  readerUserId?: string;
  progress?: (line: string) => void;
}

export interface SeededInbox {
  accountId: string;
  channels: Record<ChannelType, string>;
  /** Everyone with conversations assigned: the given users first, then the added agents. */
  assignees: string[];
  conversations: number;
  messages: number;
  /** A conversation with the most messages: a timeline to page through. */
  longestConversationId: string;
}

/** Words customers and agents write; earlier ones are picked more often (see WORD_PICK). */
export const WORDS = (
  'order the my is please help thanks hello you it not and with for can refund delivery parcel payment ' +
  'account password invoice when where still yet today tomorrow received shipping address change cancel ' +
  'subscription price discount code app login error update problem question wrong size colour return ' +
  'exchange warranty broken damaged missing tracking number email phone store online card bank transfer ' +
  'receipt confirm booking reservation table appointment schedule week month support agent manager ' +
  'urgent waiting days hours late early open closed weekend holiday voucher gift points membership ' +
  'upgrade downgrade plan trial renewal charge charged twice duplicate statement label courier pickup ' +
  'locker warehouse stock available restock preorder backorder sold replacement repair technician ' +
  'install setup manual instructions battery charger cable screen keyboard printer router wifi signal ' +
  'firmware version bluetooth pairing reset restart feedback complaint compliment allergy ingredients ' +
  'vegan gluten recipe menu catering invoice vat company business quote estimate contract deposit ' +
  'balance overdue reminder newsletter unsubscribe privacy gdpr delete data export xylophone quokka'
).split(' ');

export const FIRST_NAMES = (
  'Ana Ben Chloe Dana Elif Farid Greta Hugo Ines Jonas Kira Liam Mara Nils Olga Pablo Quinn Rosa Sami Tara ' +
  'Umar Vera Wen Xenia Yusuf Zoe Amir Bea Carlos Dmitri Emma Felix Gita Hana Ivan Jada Kofi Lena Mateo Nora ' +
  'Oscar Priya Rafael Sofia Tomas Uma Viktor Wanda Yara Zeno'
).split(' ');

export const LAST_NAMES = (
  'Abebe Berg Costa Dubois Eriksen Fischer Garcia Haddad Ibrahim Jensen Kowalski Lopez Moreau Nakamura ' +
  'Okafor Petrov Quispe Rossi Schmidt Tanaka Usman Varga Weber Xu Yilmaz Zielinski Andersen Bianchi Chen ' +
  'Diaz Evans Ferreira Gomez Horvath Ito Kim Larsen Meyer Novak Olsen Park Ruiz Silva Tran Ueda Vogel ' +
  'Wagner Young Zhang'
).split(' ');

/** A word list as one bound array: knex would turn a JavaScript array into a list of placeholders. */
const pgArray = (values: string[]) => `{${values.join(',')}}`;

/** 2,000 distinct texts, reused by the messages: writing each message's words one by one would cost a subquery per row. */
const SENTENCES = 2000;

/**
 * Fills the account. One transaction, with session_replication_role = replica: the tables'
 * triggers would otherwise write an events row per message and update the counts per statement
 * (the counts are filled here instead, from what was seeded). That also turns off foreign-key
 * checks, so every id below comes from rows this function just wrote.
 */
export async function seedInbox(db: Db, opts: SeedOptions): Promise<SeededInbox> {
  const progress = opts.progress ?? (() => undefined);
  const n = opts.conversations;
  const started = Date.now();
  const step = (what: string) => progress(`${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

  const seeded = await db.transaction(async (trx) => {
    await trx.raw('SET LOCAL session_replication_role = replica');
    // Sorting a million messages into time order in memory rather than in temporary files.
    await trx.raw("SET LOCAL work_mem = '256MB'");
    await trx.raw(
      `CREATE OR REPLACE FUNCTION pg_temp.seed_rand(bigint) RETURNS double precision LANGUAGE sql IMMUTABLE
       AS 'SELECT (hashint8($1) & 2147483647)::float8 / 2147483648'`,
    );

    const accountId =
      opts.accountId ?? (await trx('accounts').insert({ name: `seeded ${n}`, plan: 'pro' }).returning('id'))[0].id;
    const tag = randomUUID().slice(0, 8);
    const agents: string[] = (
      await trx('users')
        .insert(
          Array.from({ length: opts.extraAgents ?? 4 }, (_, k) => ({
            account_id: accountId,
            email: `agent-${k}-${tag}@seeded.test`,
            name: `${FIRST_NAMES[(k * 7 + 3) % FIRST_NAMES.length]} ${LAST_NAMES[(k * 5 + 1) % LAST_NAMES.length]}`,
            role: 'agent',
          })),
        )
        .returning('id')
    ).map((r: { id: string }) => r.id);
    const assignees = [...(opts.assignees ?? []), ...agents];

    const channelRows: Array<{ id: string; type: ChannelType }> = await trx('channels')
      .insert(
        CHANNEL_TYPES.map((type) => ({
          account_id: accountId,
          type,
          name: `Seeded ${type}`,
          status: 'connected',
          webhook_secret: randomUUID(),
          verify_token: randomUUID(),
        })),
      )
      .returning(['id', 'type']);
    const channels = Object.fromEntries(channelRows.map((c) => [c.type, c.id])) as Record<ChannelType, string>;
    step(`account ${accountId}: ${assignees.length} assignees, ${CHANNEL_TYPES.length} channels`);

    await trx.raw(
      `CREATE TEMP TABLE seed_sentences ON COMMIT DROP AS
       SELECT s AS n, (
         SELECT string_agg(w.words[1 + floor(w.n * pg_temp.seed_rand(s * 64 + k) ^ 2)::int], ' ' ORDER BY k)
         FROM generate_series(1, 3 + floor(pg_temp.seed_rand(s * 64) * 12)::int) k
       ) AS content
       FROM generate_series(0, ${SENTENCES - 1}) s, (SELECT ?::text[] AS words, cardinality(?::text[]) AS n) w`,
      [pgArray(WORDS), pgArray(WORDS)],
    );

    // One row per conversation with everything its contact, its messages and its read marker derive from.
    // Statuses: 70 % open, 10 % pending, 5 % snoozed, 15 % resolved; 60 % unassigned.
    await trx.raw(
      `CREATE TEMP TABLE seed_conv ON COMMIT DROP AS
       SELECT i, gen_random_uuid() AS id, gen_random_uuid() AS contact_id,
              (?::text[])[1 + i % 6] AS channel_type, (?::uuid[])[1 + i % 6] AS channel_id,
              1 + floor(pg_temp.seed_rand(i * 16 + 1) * 19)::int AS n_messages,
              CASE WHEN r.status < 0.70 THEN 'open' WHEN r.status < 0.80 THEN 'pending'
                   WHEN r.status < 0.85 THEN 'snoozed' ELSE 'resolved' END AS status,
              CASE WHEN r.assign < 0.6 OR cardinality(?::uuid[]) = 0 THEN NULL
                   ELSE (?::uuid[])[1 + floor((r.assign - 0.6) / 0.4 * cardinality(?::uuid[]))::int] END AS assignee_id,
              -- A year of history, oldest first, the newest conversation's last message three days ago.
              now() - interval '400 days' + (interval '365 days') * (i / ?::float8) AS created_at,
              (interval '1 minute') * (1 + floor(pg_temp.seed_rand(i * 16 + 4) * 180)) AS gap,
              (?::text[])[1 + floor(pg_temp.seed_rand(i * 16 + 5) * ?)::int] AS first_name,
              (?::text[])[1 + floor(pg_temp.seed_rand(i * 16 + 6) * ?)::int] AS last_name
       FROM generate_series(0, ?::int - 1) i,
            LATERAL (SELECT pg_temp.seed_rand(i * 16 + 2) AS status, pg_temp.seed_rand(i * 16 + 3) AS assign) r`,
      [
        pgArray(CHANNEL_TYPES.map(String)),
        pgArray(CHANNEL_TYPES.map((t) => channels[t])),
        pgArray(assignees),
        pgArray(assignees),
        pgArray(assignees),
        n,
        pgArray(FIRST_NAMES),
        FIRST_NAMES.length,
        pgArray(LAST_NAMES),
        LAST_NAMES.length,
        n,
      ],
    );
    await trx.raw('ALTER TABLE seed_conv ADD COLUMN last_message_at timestamptz');
    await trx.raw('UPDATE seed_conv SET last_message_at = created_at + gap * (n_messages - 1)');

    // Handles as each platform writes them; a tenth of contacts has no name (a bare number or address).
    await trx.raw(
      `INSERT INTO contacts (id, channel_id, platform_user_id, name, username, created_at, updated_at)
       SELECT c.contact_id, c.channel_id,
              CASE c.channel_type
                WHEN 'webchat' THEN 'visitor-' || md5(c.id::text)
                WHEN 'email' THEN lower(c.first_name) || '.' || lower(c.last_name) || c.i || '@example.com'
                WHEN 'whatsapp' THEN (4915000000000 + c.i)::text
                WHEN 'telegram' THEN (500000000 + c.i)::text
                WHEN 'instagram' THEN (17841400000000000 + c.i)::text
                ELSE (1600000000000000000 + c.i)::text
              END,
              CASE WHEN pg_temp.seed_rand(c.i * 16 + 7) < 0.1 THEN NULL ELSE c.first_name || ' ' || c.last_name END,
              CASE WHEN c.channel_type IN ('telegram', 'instagram', 'x') AND pg_temp.seed_rand(c.i * 16 + 8) < 0.8
                   THEN lower(c.first_name) || '_' || lower(c.last_name) || (c.i % 1000) END,
              c.created_at, c.created_at
       FROM seed_conv c`,
    );
    step(`${n} contacts`);

    await trx.raw(
      `INSERT INTO conversations (id, account_id, channel_id, channel_type, contact_id, thread_key, status, snoozed_until,
                                  assignee_id, workflow_id, last_message_at, created_at, updated_at)
       SELECT c.id, ?, c.channel_id, c.channel_type, c.contact_id, ct.platform_user_id, c.status,
              CASE WHEN c.status = 'snoozed' THEN now() + interval '1 hour' * (1 + (c.i % 168)) END,
              c.assignee_id, 'conversation/' || c.channel_type || '/' || c.channel_id || '/' || ct.platform_user_id,
              c.last_message_at, c.created_at, c.last_message_at
       FROM seed_conv c JOIN contacts ct ON ct.id = c.contact_id
       ORDER BY c.created_at`,
      [accountId],
    );
    step(`${n} conversations`);

    // In time order across the account, as they arrive: a conversation's messages lie apart in the table, and seq follows time.
    // The first message is the customer's; after it, 55 % customer messages, the rest replies. Some
    // name an order number of their own, a word only one conversation has.
    const inserted = await trx.raw(
      `INSERT INTO messages (conversation_id, direction, platform_message_id, content, status, platform_timestamp, sent_at, created_at, updated_at)
       SELECT m.conversation_id, m.direction, 'seed-' || m.i || '-' || m.j,
              s.content || CASE WHEN m.r < 0.15 THEN ' #' || (1000000 + m.i * 32 + m.j) ELSE '' END,
              CASE WHEN m.direction = 'inbound' THEN 'received' WHEN m.r > 0.7 THEN 'read' ELSE 'delivered' END,
              CASE WHEN m.direction = 'inbound' THEN m.at END,
              CASE WHEN m.direction = 'outbound' THEN m.at END,
              m.at, m.at
       FROM (SELECT c.id AS conversation_id, c.i, j, c.created_at + c.gap * j AS at, pg_temp.seed_rand((c.i * 32 + j) * 4 + 1) AS r,
                    CASE WHEN j = 0 OR pg_temp.seed_rand((c.i * 32 + j) * 4) < 0.55 THEN 'inbound' ELSE 'outbound' END AS direction,
                    floor(pg_temp.seed_rand((c.i * 32 + j) * 4 + 2) * ${SENTENCES})::int AS sentence
             FROM seed_conv c, generate_series(0, c.n_messages - 1) j) m
       JOIN seed_sentences s ON s.n = m.sentence
       ORDER BY m.at`,
    );
    step(`${inserted.rowCount} messages`);

    // A note on a tenth of the conversations, by its assignee, after its last message.
    await trx.raw(
      `INSERT INTO conversation_entries (conversation_id, kind, content, author_user_id, created_at, updated_at)
       SELECT c.id, 'note', s.content, c.assignee_id, c.last_message_at + interval '5 minutes', c.last_message_at + interval '5 minutes'
       FROM seed_conv c JOIN seed_sentences s ON s.n = c.i % ${SENTENCES}
       WHERE pg_temp.seed_rand(c.i * 16 + 9) < 0.1
       ORDER BY c.last_message_at`,
    );

    if (opts.readerUserId) {
      // Half the conversations read: most of those to their last message, the rest to their middle one.
      await trx.raw(
        `INSERT INTO conversation_reads (user_id, conversation_id, last_read_seq, updated_at)
         SELECT ?, c.id, max(m.seq), max(m.created_at)
         FROM seed_conv c JOIN messages m ON m.conversation_id = c.id
         WHERE pg_temp.seed_rand(c.i * 16 + 10) < 0.5
           AND m.created_at <= c.created_at + c.gap * CASE WHEN pg_temp.seed_rand(c.i * 16 + 11) < 0.8 THEN c.n_messages - 1 ELSE (c.n_messages - 1) / 2 END
         GROUP BY c.id`,
        [opts.readerUserId],
      );
    }

    // What the triggers would have counted: only the seeded rows, added to what the account had.
    await trx.raw(
      `INSERT INTO conversation_counts AS cc (account_id, channel_type, status, assignee_id, n)
       SELECT ?, channel_type, status, assignee_id, count(*) FROM seed_conv
       GROUP BY channel_type, status, assignee_id
       ON CONFLICT (account_id, channel_type, status, assignee_id) DO UPDATE SET n = cc.n + EXCLUDED.n`,
      [accountId],
    );
    const longest = await trx('seed_conv').orderBy([{ column: 'n_messages', order: 'desc' }, 'i']).first('id');
    return { accountId, channels, assignees, conversations: n, messages: Number(inserted.rowCount), longestConversationId: longest.id as string };
  });
  step('committed');

  await vacuumAnalyze(db);
  step('vacuumed and analyzed');
  return seeded;
}

/**
 * Statistics for the planner, and the visibility map and hint bits set now: left to
 * autovacuum, both would be written during the first measured queries.
 */
export async function vacuumAnalyze(db: Db | Knex): Promise<void> {
  await db.raw('VACUUM (ANALYZE) contacts, conversations, messages, conversation_entries, conversation_reads, conversation_counts');
}
