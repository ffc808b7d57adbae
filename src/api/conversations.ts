import Router from '@koa/router';
import { z } from 'zod';
import { channelTypeSchema, CHANNEL_TYPES } from '../channels/types';
import { isUuid } from '../db/ids';
import type { Db } from '../db/knex';
import { AppError, notFound } from '../errors';
import { readJsonBody } from '../http/body';
import { conversationItems, inboxQuery, presentConversation } from '../inbox/conversations';
import { CONVERSATION_STATUSES, conversationStatusSchema, type ConversationStatus } from '../inbox/schemas';
import { stateQuery } from '../../workflows/definitions';
import type { AppDeps, AuthState } from './context';
import { conversationCursor, decodeCursor, encodeCursor } from './cursor';
import { actingAs, type ActorRef } from '../inbox/activity';
import { validate } from './validate';
import { conversationRef } from '../channels/types';

const limit = z.coerce.number().int().min(1).max(200).default(50);

export const listConversationsQuery = z
  .object({
    channel_type: channelTypeSchema.optional(),
    channel_id: z.uuid().optional(),
    /** One contact's conversations (a contact belongs to one channel). */
    contact_id: z.uuid().optional(),
    /** Default `open`. */
    status: z.enum([...CONVERSATION_STATUSES, 'all']).default('open'),
    /** `me` (a signed-in user), `unassigned`, a user's id, or `all` (default). */
    assignee: z.union([z.enum(['me', 'unassigned', 'all']), z.uuid()]).default('all'),
    /** Words of the contact's name or handle, or of a message. */
    q: z.string().trim().max(200).optional(),
    /** Only conversations with customer messages the requesting user has not read. */
    unread: z.enum(['true', 'false']).optional(),
    limit,
    cursor: z.string().max(200).optional(),
  })
  .strict();

/** A snooze ends within a year; the timer is durable, but a later date is more likely a typo. */
const MAX_SNOOZE_MS = 366 * 86_400_000;
export const updateConversationSchema = z
  .object({
    status: conversationStatusSchema.optional(),
    /** When a snoozed conversation opens again by itself (the customer writing opens it sooner). Implies `status: "snoozed"`. */
    snoozed_until: z.iso.datetime({ offset: true }).optional(),
    /** A user of the account, or null to unassign. */
    assignee_id: z.uuid().nullable().optional(),
  })
  .strict()
  .refine((v) => v.status !== undefined || v.snoozed_until !== undefined || v.assignee_id !== undefined, 'give status, snoozed_until or assignee_id')
  .refine((v) => !(v.status === 'snoozed' && !v.snoozed_until), { path: ['snoozed_until'], message: 'required when snoozing' })
  .refine((v) => !(v.snoozed_until && v.status && v.status !== 'snoozed'), { path: ['snoozed_until'], message: 'only with status "snoozed"' })
  .refine((v) => !v.snoozed_until || (Date.parse(v.snoozed_until) > Date.now() && Date.parse(v.snoozed_until) < Date.now() + MAX_SNOOZE_MS), {
    path: ['snoozed_until'],
    message: 'must be in the future, within a year',
  });

export const markReadSchema = z.object({ message_id: z.uuid() }).strict();
/** POST /api/conversations/{id}/read: the customer messages after the user's read marker now (counted up to 100). */
export const readMarkerSchema = z.object({ unread_count: z.number().int() });

export const actorOf = (state: AuthState): ActorRef =>
  state.principal.kind === 'user' ? { userId: state.principal.userId } : { apiKeyId: state.principal.keyId };
export const userIdOf = (state: AuthState): string | null => (state.principal.kind === 'user' ? state.principal.userId : null);

/** One conversation of the account, as the inbox shows it to this caller, or 404. */
export async function findConversation(db: Db, state: AuthState, id: string) {
  if (!isUuid(id)) throw notFound('conversation');
  const row = await conversationItems(db, state.accountId, userIdOf(state)).where('c.id', id).first();
  if (!row) throw notFound('conversation');
  return row as Record<string, any>;
}

/** The inbox: filters, counts, one conversation, and what agents change about it. */
export function conversationRoutes(deps: AppDeps): Router<AuthState> {
  const router = new Router<AuthState>();
  const { db } = deps;

  router.get('/conversations', async (ctx) => {
    const q = validate(listConversationsQuery, ctx.query, 'query');
    const after = decodeCursor(q.cursor, conversationCursor);
    const userId = userIdOf(ctx.state);
    if ((q.assignee === 'me' || q.unread) && !userId) {
      throw new AppError(400, 'needs_user', `${q.assignee === 'me' ? 'assignee=me' : 'unread'} needs a signed-in user; an API key has no inbox of its own`);
    }
    const rows = await inboxQuery(db, ctx.state.accountId, userId, q, after);
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    ctx.body = {
      data: page.map(presentConversation),
      next_cursor: rows.length > q.limit ? encodeCursor([last.cursor_ts, last.id]) : null,
    };
  });

  router.get('/conversations/counts', async (ctx) => {
    const rows: Array<{ channel_type: string; status: ConversationStatus; assignee_id: string | null; n: string }> = await db('conversation_counts')
      .where({ account_id: ctx.state.accountId })
      .select('channel_type', 'status', 'assignee_id', 'n');
    const userId = userIdOf(ctx.state);
    const open = rows.filter((r) => r.status === 'open');
    const sum = (rs: typeof rows) => rs.reduce((n, r) => n + Number(r.n), 0);
    ctx.body = {
      mine: userId ? sum(open.filter((r) => r.assignee_id === userId)) : null,
      unassigned: sum(open.filter((r) => r.assignee_id === null)),
      all: sum(open),
      by_channel_type: Object.fromEntries(CHANNEL_TYPES.map((t) => [t, sum(open.filter((r) => r.channel_type === t))])),
      by_status: Object.fromEntries(CONVERSATION_STATUSES.map((s) => [s, sum(rows.filter((r) => r.status === s))])),
    };
  });

  router.get('/conversations/:id', async (ctx) => {
    const row = await findConversation(db, ctx.state, ctx.params.id);
    // The workflow's live view (queued and retrying replies); absent when Temporal cannot answer quickly,
    // or when the conversation's run has ended after a quiet period (then nothing is in flight).
    const live = await deps.temporal
      .withDeadline(Date.now() + 2000, () => deps.temporal.workflow.getHandle(row.workflow_id).query(stateQuery))
      .catch(() => null);
    ctx.body = { ...presentConversation(row), live };
  });

  router.patch('/conversations/:id', async (ctx) => {
    const conv = await findConversation(db, ctx.state, ctx.params.id);
    const input = validate(updateConversationSchema, (await readJsonBody(ctx)).json);
    if (input.assignee_id) {
      const assignee = await db('users').where({ id: input.assignee_id, account_id: ctx.state.accountId }).whereNull('disabled_at').first('id');
      if (!assignee) {
        throw new AppError(422, 'validation_failed', 'assignee_id is not an active user of this account', {
          fields: [{ path: 'assignee_id', message: 'not an active user of this account' }],
        });
      }
    }
    const status: ConversationStatus = input.status ?? (input.snoozed_until ? 'snoozed' : conv.status);
    // Milliseconds, as every timestamp PingBack hands out (a client may send microseconds).
    const snoozedUntil = status === 'snoozed' ? new Date(input.snoozed_until ?? conv.snoozed_until).toISOString() : null;
    // last_message_at as this request found it: a customer message stored after it wins.
    const asOf: Date = conv.last_message_at;
    await db.transaction(async (trx) => {
      const current = await trx('conversations').where({ id: conv.id }).forUpdate().first('status', 'snoozed_until', 'assignee_id', 'last_message_at');
      const statusChanged = status !== current.status || (snoozedUntil !== null && Date.parse(snoozedUntil) !== new Date(current.snoozed_until).getTime());
      if (statusChanged && status !== 'open' && new Date(current.last_message_at) > asOf) {
        throw new AppError(409, 'conversation_changed', 'a new message arrived in this conversation; reload it and decide again');
      }
      const changes: Record<string, unknown> = {};
      if (statusChanged) Object.assign(changes, { status, snoozed_until: snoozedUntil });
      if (input.assignee_id !== undefined && input.assignee_id !== current.assignee_id) changes.assignee_id = input.assignee_id;
      if (Object.keys(changes).length === 0) return;
      // The timeline's activity entries are written by a trigger, from the rows, naming this caller.
      await actingAs(trx, actorOf(ctx.state));
      await trx('conversations').where({ id: conv.id }).update(changes);
      if (statusChanged) {
        // Before commit, holding the row: the workflow reads the status back (checkSnooze) and waits
        // for this commit to do so. Temporal refusing rolls the change back; a commit failing after
        // the signal leaves the workflow reading the old status, which is then still the truth.
        await deps.signaller.status(
          conversationRef({ id: conv.channel_id, account_id: ctx.state.accountId, type: conv.channel_type }, conv.thread_key),
          { status, asOf: asOf.toISOString() },
        );
      }
    });
    ctx.body = presentConversation(await findConversation(db, ctx.state, conv.id));
  });

  router.post('/conversations/:id/read', async (ctx) => {
    const userId = userIdOf(ctx.state);
    if (!userId) throw new AppError(400, 'needs_user', 'read markers belong to signed-in users; an API key has none');
    const conv = await findConversation(db, ctx.state, ctx.params.id);
    const input = validate(markReadSchema, (await readJsonBody(ctx)).json);
    const seq = await db
      .from(db.raw('(SELECT seq, conversation_id FROM messages WHERE id = ? UNION ALL SELECT seq, conversation_id FROM conversation_entries WHERE id = ?) t', [input.message_id, input.message_id]))
      .where('conversation_id', conv.id)
      .first('seq');
    if (!seq) throw new AppError(422, 'validation_failed', 'message_id is not a message of this conversation', { fields: [{ path: 'message_id', message: 'not in this conversation' }] });
    // Forward only: a stale tab marking an older message changes nothing.
    await db.raw(
      `INSERT INTO conversation_reads (user_id, conversation_id, last_read_seq) VALUES (?, ?, ?)
       ON CONFLICT (user_id, conversation_id) DO UPDATE SET last_read_seq = GREATEST(conversation_reads.last_read_seq, EXCLUDED.last_read_seq), updated_at = now()`,
      [userId, conv.id, seq.seq],
    );
    ctx.body = { unread_count: (await findConversation(db, ctx.state, conv.id)).unread_count } satisfies z.infer<typeof readMarkerSchema>;
  });

  return router;
}
