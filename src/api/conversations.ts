import Router from '@koa/router';
import { z } from 'zod';
import { channelTypeSchema } from '../channels/types';
import { isUuid } from '../db/ids';
import { requireFileReplies } from '../channels';
import { agentOwner, claimUploads, linkReplyFiles } from '../db/stored-media';
import { AppError, notFound } from '../errors';
import { attachedFileIds } from '../ingress/widget-fields';
import { readJsonBody } from '../http/body';
import { stateQuery } from '../../workflows/definitions';
import type { AppDeps, AuthState } from './context';
import { conversationCursor, decodeCursor, encodeCursor, messageCursor } from './cursor';
import { validate } from './validate';

const limit = z.coerce.number().int().min(1).max(200).default(50);

export const listConversationsQuery = z.object({
  channel_type: channelTypeSchema.optional(),
  status: z.enum(['open', 'resolved']).optional(),
  channel_id: z.string().uuid().optional(),
  limit,
  cursor: z.string().optional(),
});

export const listMessagesQuery = z.object({ limit, cursor: z.string().optional() });

export const updateConversationSchema = z.object({ status: z.enum(['open', 'resolved']) }).strict();

export const replySchema = z
  .object({
    /** May be empty when the reply carries files. */
    content: z.string().trim().max(4096, 'must be at most 4096 characters').default(''),
    /** A message of this conversation the reply answers; platforms that can (WhatsApp, Telegram) quote it. */
    reply_to_message_id: z.string().uuid().optional(),
    /** Files uploaded for this conversation (POST /api/conversations/{id}/attachments), on channels whose replies carry files. */
    attachments: attachedFileIds,
  })
  .refine((r) => r.content.length > 0 || r.attachments.length > 0, { path: ['content'], message: 'must not be empty (unless the reply has attachments)' });

const CONVERSATION_COLUMNS = [
  'c.id',
  'c.channel_id',
  'c.channel_type',
  'c.status',
  'c.thread_key',
  'c.workflow_id',
  'c.last_message_at',
  'c.created_at',
  'ct.id as contact_id',
  'ct.platform_user_id as contact_platform_user_id',
  'ct.name as contact_name',
  'ct.username as contact_username',
];

function presentConversation(r: Record<string, any>) {
  return {
    id: r.id,
    channel_id: r.channel_id,
    channel_type: r.channel_type,
    status: r.status,
    contact: { id: r.contact_id, platform_user_id: r.contact_platform_user_id, name: r.contact_name, username: r.contact_username },
    last_message_at: r.last_message_at,
    created_at: r.created_at,
    workflow_id: r.workflow_id,
  };
}

function presentMessage(r: Record<string, any>) {
  return {
    id: r.id,
    direction: r.direction,
    content: r.content,
    content_type: r.content_type,
    attachments: r.attachments,
    status: r.status,
    attempts: r.attempts,
    error: r.error,
    platform_message_id: r.platform_message_id,
    metadata: r.metadata,
    created_at: r.created_at,
    sent_at: r.sent_at,
  };
}

export function conversationRoutes(deps: AppDeps): Router<AuthState> {
  const router = new Router<AuthState>();
  const { db } = deps;

  const findConversation = async (accountId: string, id: string) => {
    if (!isUuid(id)) return undefined;
    return db('conversations as c')
      .join('contacts as ct', 'ct.id', 'c.contact_id')
      .where({ 'c.id': id, 'c.account_id': accountId })
      .first(CONVERSATION_COLUMNS);
  };

  /** The replied-to message's platform id, which the adapter sends as reply context. */
  const replyContext = async (conversationId: string, messageId: string) => {
    const target = await db('messages').where({ id: messageId, conversation_id: conversationId }).first('platform_message_id');
    const why = !target ? 'is not a message of this conversation' : !target.platform_message_id ? 'has not reached the platform yet' : null;
    if (why) {
      throw new AppError(422, 'validation_failed', `reply_to_message_id ${why}`, { fields: [{ path: 'reply_to_message_id', message: why }] });
    }
    return { reply_to_message_id: messageId, reply_to_platform_message_id: target.platform_message_id };
  };

  router.get('/conversations', async (ctx) => {
    const q = validate(listConversationsQuery, ctx.query, 'query');
    const after = decodeCursor(q.cursor, conversationCursor);
    const rows = await db('conversations as c')
      .join('contacts as ct', 'ct.id', 'c.contact_id')
      .where('c.account_id', ctx.state.accountId)
      .modify((b) => {
        if (q.channel_type) b.where('c.channel_type', q.channel_type);
        if (q.status) b.where('c.status', q.status);
        if (q.channel_id) b.where('c.channel_id', q.channel_id);
        if (after) b.whereRaw('(c.last_message_at, c.id) < (?::timestamptz, ?::uuid)', after);
      })
      .orderBy([{ column: 'c.last_message_at', order: 'desc' }, { column: 'c.id', order: 'desc' }])
      .limit(q.limit + 1)
      // The cursor keeps PostgreSQL's own microseconds: JavaScript dates would round them.
      .select([...CONVERSATION_COLUMNS, db.raw('c.last_message_at::text as cursor_ts')]);
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    ctx.body = {
      data: page.map(presentConversation),
      next_cursor: rows.length > q.limit ? encodeCursor([last.cursor_ts, last.id]) : null,
    };
  });

  router.get('/conversations/:id', async (ctx) => {
    const row = await findConversation(ctx.state.accountId, ctx.params.id);
    if (!row) throw notFound('conversation');
    // The workflow's live view (queued and retrying replies); absent when Temporal cannot answer quickly.
    const live = await deps.temporal
      .withDeadline(Date.now() + 2000, () => deps.temporal.workflow.getHandle(row.workflow_id).query(stateQuery))
      .catch(() => null);
    ctx.body = { ...presentConversation(row), live };
  });

  router.patch('/conversations/:id', async (ctx) => {
    const conv = await findConversation(ctx.state.accountId, ctx.params.id);
    if (!conv) throw notFound('conversation');
    const input = validate(updateConversationSchema, (await readJsonBody(ctx)).json);
    const asOf: Date = conv.last_message_at;
    // Only if nothing arrived since the agent looked: a newer customer message keeps it open.
    const changed = await db('conversations')
      .where({ id: conv.id })
      // JavaScript dates carry milliseconds, PostgreSQL microseconds.
      .andWhereRaw("date_trunc('milliseconds', last_message_at) <= ?", [asOf])
      .update({ status: input.status, updated_at: db.fn.now() });
    if (!changed) throw new AppError(409, 'conversation_changed', 'a new message arrived in this conversation; reload it and decide again');
    try {
      await deps.signaller.status(
        { accountId: ctx.state.accountId, channelId: conv.channel_id, channelType: conv.channel_type, threadKey: conv.thread_key },
        { status: input.status, asOf: asOf.toISOString() },
      );
    } catch (err) {
      // The workflow (and operators' search) would not know: undo, let the client retry.
      await db('conversations').where({ id: conv.id }).update({ status: conv.status });
      throw err;
    }
    ctx.body = presentConversation({ ...conv, status: input.status });
  });

  router.get('/conversations/:id/messages', async (ctx) => {
    const row = await findConversation(ctx.state.accountId, ctx.params.id);
    if (!row) throw notFound('conversation');
    const q = validate(listMessagesQuery, ctx.query, 'query');
    const after = decodeCursor(q.cursor, messageCursor);
    const rows = await db('messages')
      .where('conversation_id', row.id)
      .modify((b) => {
        if (after) b.where('seq', '>', after[0]);
      })
      .orderBy('seq', 'asc')
      .limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    ctx.body = {
      data: page.map(presentMessage),
      next_cursor: rows.length > q.limit ? encodeCursor([String(page[page.length - 1].seq)]) : null,
    };
  });

  router.post('/conversations/:id/messages', async (ctx) => {
    const conv = await findConversation(ctx.state.accountId, ctx.params.id);
    if (!conv) throw notFound('conversation');
    const input = validate(replySchema, (await readJsonBody(ctx)).json);
    const channel = await db('channels').where({ id: conv.channel_id }).first('is_active', 'account_id');
    if (!channel?.is_active) {
      throw new AppError(409, 'channel_inactive', 'this conversation\'s channel is deactivated; reactivate it to reply');
    }
    if (input.attachments.length > 0) requireFileReplies(conv.channel_type);
    const metadata = input.reply_to_message_id ? await replyContext(conv.id, input.reply_to_message_id) : {};
    const message = await db.transaction(async (trx) => {
      // Taken before the reply's seq, as persistInbound takes it, so a visitor's message stored meanwhile
      // cannot become visible with a later seq first (the widget's cursor would pass the reply).
      if (input.attachments.length > 0) await trx('conversations').where({ id: conv.id }).forNoKeyUpdate().first('id');
      // Files not yet carried by another reply: a file goes out once, with one reply.
      const attachments = await claimUploads(trx, conv.channel_id, agentOwner(conv.id), input.attachments, { unsentOnly: true });
      const [row] = await trx('messages')
        .insert({
          conversation_id: conv.id,
          direction: 'outbound',
          content: input.content,
          content_type: attachments.length > 0 ? attachments[0].type : 'text',
          attachments: JSON.stringify(attachments),
          status: 'pending',
          metadata: JSON.stringify(metadata),
        })
        .returning('*');
      await linkReplyFiles(trx, row.id, input.attachments);
      return row;
    });
    try {
      await deps.signaller.reply(
        { accountId: ctx.state.accountId, channelId: conv.channel_id, channelType: conv.channel_type, threadKey: conv.thread_key },
        message.id,
      );
    } catch (err) {
      // Not handed to the workflow means never sent: leave no pending row behind.
      await db('messages').where({ id: message.id }).delete();
      throw err;
    }
    await db('conversations').where({ id: conv.id }).update({ last_message_at: db.fn.now() });
    ctx.status = 202;
    ctx.body = presentMessage(message);
  });

  return router;
}
