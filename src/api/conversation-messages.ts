import Router from '@koa/router';
import { z } from 'zod';
import { checkFilesOut, requireFileReplies } from '../channels';
import { agentOwner, claimUploads, linkReplyFiles } from '../db/stored-media';
import { isUuid } from '../db/ids';
import { AppError, notFound } from '../errors';
import { attachedFileIds } from '../channels/webchat/fields';
import { readJsonBody } from '../http/body';
import { authorColumns } from '../inbox/activity';
import { loadEntries, timelinePage } from '../inbox/timeline';
import { timelineEntrySchema, type TimelineEntry } from '../inbox/schemas';
import type { AppDeps, AuthState } from './context';
import { actorOf, findConversation } from './conversations';
import { decodeCursor, encodeCursor, messageCursor } from './cursor';
import { validate } from './validate';
import { channelTemplates } from './templates';
import { windowClosesAt } from '../inbox/conversations';
import { renderTemplate, templateSendSchema } from '../channels/whatsapp/templates';
import { conversationRef } from '../channels/types';

/** Replies and notes have the same bound as the longest message a platform takes in one go. */
const MAX_TEXT = 4096;
const clientId = z.string().trim().min(1).max(100).optional().describe("the writer's own id: the same id again is the same reply or note, not a second one");

export const listMessagesQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(200).optional(),
    /** `asc` (default) from the start; `desc` from the newest, to open a conversation at its end. */
    order: z.enum(['asc', 'desc']).default('asc'),
  })
  .strict();

export const replySchema = z
  .object({
    /** May be empty when the reply carries files. */
    content: z.string().trim().max(MAX_TEXT, `must be at most ${MAX_TEXT} characters`).default(''),
    /** A message of this conversation the reply answers; platforms that can (WhatsApp, Telegram) quote it. */
    reply_to_message_id: z.uuid().optional(),
    /** Files uploaded for this conversation (POST /api/conversations/{id}/attachments), on channels whose replies carry files. */
    attachments: attachedFileIds,
    client_id: clientId,
    /** WhatsApp: an approved template with its parameters, sendable after the 24-hour window too; `content` is then left out. */
    template: templateSendSchema.optional(),
  })
  .refine((r) => r.content.length > 0 || r.attachments.length > 0 || r.template, { path: ['content'], message: 'must not be empty (unless the reply has attachments or a template)' })
  .refine((r) => !r.template || (r.content.length === 0 && r.attachments.length === 0), { path: ['template'], message: 'is sent alone: leave content and attachments out' });

export const noteSchema = z
  .object({ content: z.string().trim().min(1, 'must not be empty').max(MAX_TEXT, `must be at most ${MAX_TEXT} characters`), client_id: clientId })
  .strict();

/** POST /api/messages/{id}/retry: the conversation's workflow took the reply again. */
export const retryQueuedSchema = z.object({
  queued: z.literal(true),
  /** Its place among the conversation's queued replies: 1 goes out next. */
  position: z.number().int(),
  /** The reply as the timeline shows it now. */
  message: timelineEntrySchema,
});

/** A conversation's timeline, and what agents add to it: replies (sent to the customer) and private notes (never sent). */
export function conversationMessageRoutes(deps: AppDeps): Router<AuthState> {
  const router = new Router<AuthState>();
  const { db } = deps;
  const templatesOf = channelTemplates(deps);

  /** The replied-to message's platform id, which the adapter sends as reply context. */
  const replyContext = async (conversationId: string, messageId: string) => {
    const target = await db('messages').where({ id: messageId, conversation_id: conversationId }).first('platform_message_id');
    const why = !target ? 'is not a message of this conversation' : !target.platform_message_id ? 'has not reached the platform yet' : null;
    if (why) {
      throw new AppError(422, 'validation_failed', `reply_to_message_id ${why}`, { fields: [{ path: 'reply_to_message_id', message: why }] });
    }
    return { reply_to_message_id: messageId, reply_to_platform_message_id: target.platform_message_id };
  };

  const entry = async (accountId: string, id: string, table: 'messages' | 'entries'): Promise<TimelineEntry> => {
    const found = await loadEntries(db, accountId, { messages: table === 'messages' ? [id] : [], entries: table === 'entries' ? [id] : [] });
    return found.get(id)!;
  };

  router.get('/conversations/:id/messages', async (ctx) => {
    const conv = await findConversation(db, ctx.state, ctx.params.id);
    const q = validate(listMessagesQuery, ctx.query, 'query');
    const from = decodeCursor(q.cursor, messageCursor)?.[0];
    const rows = await timelinePage(db, conv.id, {
      afterSeq: q.order === 'asc' ? from : undefined,
      beforeSeq: q.order === 'desc' ? from : undefined,
      limit: q.limit + 1,
      order: q.order,
    });
    const page = rows.slice(0, q.limit);
    ctx.body = {
      data: page.map(({ _seq, ...e }) => e),
      next_cursor: rows.length > q.limit ? encodeCursor([page[page.length - 1]._seq]) : null,
    };
  });

  router.post('/conversations/:id/messages', async (ctx) => {
    const conv = await findConversation(db, ctx.state, ctx.params.id);
    const input = validate(replySchema, (await readJsonBody(ctx)).json);
    // The same key as the HTTP header most clients know (Idempotency-Key), or in the body.
    const header = validate(clientId, ctx.get('idempotency-key') || undefined, 'Idempotency-Key header');
    if (header && input.client_id && header !== input.client_id) {
      throw new AppError(422, 'validation_failed', 'Idempotency-Key and client_id differ; send one of them', { fields: [{ path: 'client_id', message: 'differs from the Idempotency-Key header' }] });
    }
    const key = input.client_id ?? header;
    // A retried request is answered with the first reply, whatever changed since (the window closed, the channel went off).
    if (key) {
      const first = await db('messages').where({ conversation_id: conv.id, client_id: key }).first('id', 'content', 'metadata');
      if (first) {
        if (!input.template && !first.metadata?.template && first.content !== input.content) {
          throw new AppError(422, 'idempotency_key_reused', `${header ? 'Idempotency-Key' : 'client_id'} ${key} was used for a different reply`);
        }
        ctx.status = 200;
        ctx.body = await entry(ctx.state.accountId, first.id, 'messages');
        return;
      }
    }
    if (!conv.channel_active) throw new AppError(409, 'channel_inactive', "this conversation's channel is deactivated; reactivate it to reply");
    if (input.attachments.length > 0) requireFileReplies(conv.channel_type);
    const metadata: Record<string, unknown> = input.reply_to_message_id ? await replyContext(conv.id, input.reply_to_message_id) : {};
    let content = input.content;
    if (input.template) {
      // Checked against the account's approved templates now, not refused by Meta later; the timeline shows the text sent.
      content = renderTemplate(await templatesOf(ctx.state.accountId, conv.channel_id), input.template);
      metadata.template = input.template;
    } else {
      const closes = windowClosesAt(conv.channel_type, conv.last_inbound_at);
      if (closes && closes.getTime() <= Date.now()) {
        throw new AppError(
          409,
          'outside_messaging_window',
          `WhatsApp takes free-form replies only within 24 hours of the customer's last message; that window closed at ${closes.toISOString()}. Send an approved template (template) instead`,
          { window_closes_at: closes.toISOString() },
        );
      }
    }
    const written = await db.transaction(async (trx) => {
      // Two requests with one client_id (a double click) wait for each other here, the second
      // finding the first's reply; replies without one, or with others, do not wait.
      if (key) {
        await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`reply:${conv.id}:${key}`]);
        const same = await trx('messages').where({ conversation_id: conv.id, client_id: key }).first('id');
        if (same) return { id: same.id as string, existing: true };
      }
      // Taken before the reply's seq, as persistInbound takes it, so a visitor's message stored meanwhile
      // cannot become visible with a later seq first (the widget's cursor would pass the reply).
      if (input.attachments.length > 0) await trx('conversations').where({ id: conv.id }).forNoKeyUpdate().first('id');
      // Files not yet carried by another reply: a file goes out once, with one reply.
      const attachments = await claimUploads(trx, conv.channel_id, agentOwner(conv.id), input.attachments, { unsentOnly: true });
      // What the platform will not take is refused now, naming the file, rather than failing after.
      checkFilesOut(conv.channel_type, attachments);
      const [row] = await trx('messages')
        .insert({
          conversation_id: conv.id,
          direction: 'outbound',
          content,
          content_type: attachments.length > 0 ? attachments[0].type : 'text',
          attachments: JSON.stringify(attachments),
          status: 'pending',
          metadata: JSON.stringify(metadata),
          client_id: key ?? null,
          ...authorColumns(actorOf(ctx.state)),
        })
        .returning('id');
      await linkReplyFiles(trx, row.id, input.attachments);
      return { id: row.id as string, existing: false };
    });
    if (written.existing) {
      ctx.status = 200;
      ctx.body = await entry(ctx.state.accountId, written.id, 'messages');
      return;
    }
    try {
      await deps.signaller.reply(
        conversationRef({ id: conv.channel_id, account_id: ctx.state.accountId, type: conv.channel_type }, conv.thread_key),
        written.id,
      );
    } catch (err) {
      // Not handed to the workflow means never sent: leave no pending row behind (screens get message.deleted).
      await db('messages').where({ id: written.id }).delete();
      throw err;
    }
    await db('conversations').where({ id: conv.id }).update({ last_message_at: db.fn.now() });
    ctx.status = 202;
    ctx.body = await entry(ctx.state.accountId, written.id, 'messages');
  });

  /**
   * A failed reply sent again: queued behind whatever the conversation has queued, through its
   * workflow (an update: the answer says whether it was queued), and sent as a new reply would be.
   */
  router.post('/messages/:id/retry', async (ctx) => {
    const found = isUuid(ctx.params.id)
      ? await db('messages as m').join('conversations as c', 'c.id', 'm.conversation_id').where({ 'm.id': ctx.params.id, 'c.account_id': ctx.state.accountId, 'm.direction': 'outbound' }).first('m.conversation_id')
      : undefined;
    if (!found) throw notFound('reply');
    // The conversation as this user may see it (the same 404 otherwise).
    const conv = await findConversation(db, ctx.state, found.conversation_id).catch(() => {
      throw notFound('reply');
    });
    const { status, metadata } = await db('messages').where({ id: ctx.params.id }).first('status', 'metadata');
    if (status !== 'failed') throw new AppError(409, 'not_failed', `only a failed reply can be retried; this one is ${status}`, { status });
    if (!conv.channel_active) throw new AppError(409, 'channel_inactive', "this conversation's channel is deactivated; reactivate it to retry");
    // A free-form reply past WhatsApp's window would only be refused again (a template goes any time).
    const closes = windowClosesAt(conv.channel_type, conv.last_inbound_at);
    if (!metadata?.template && closes && closes.getTime() <= Date.now()) {
      throw new AppError(409, 'outside_messaging_window', `WhatsApp takes free-form replies only within 24 hours of the customer's last message; that window closed at ${closes.toISOString()}. Send a template instead`, {
        window_closes_at: closes.toISOString(),
      });
    }
    const result = await deps.signaller.retryReply(conversationRef({ id: conv.channel_id, account_id: ctx.state.accountId, type: conv.channel_type }, conv.thread_key), ctx.params.id);
    if (!result.queued) throw new AppError(409, 'not_failed', `only a failed reply can be retried; this one is ${result.status}`, { status: result.status });
    ctx.status = 202;
    ctx.body = { queued: true, position: result.position, message: await entry(ctx.state.accountId, ctx.params.id, 'messages') } satisfies z.infer<typeof retryQueuedSchema>;
  });

  router.post('/conversations/:id/notes', async (ctx) => {
    const conv = await findConversation(db, ctx.state, ctx.params.id);
    const input = validate(noteSchema, (await readJsonBody(ctx)).json);
    const [row] = await db('conversation_entries')
      .insert({ conversation_id: conv.id, kind: 'note', content: input.content, client_id: input.client_id ?? null, ...authorColumns(actorOf(ctx.state)) })
      .onConflict(['conversation_id', 'client_id'])
      .ignore()
      .returning('id');
    const id = row?.id ?? (await db('conversation_entries').where({ conversation_id: conv.id, client_id: input.client_id }).first('id')).id;
    ctx.status = row ? 201 : 200;
    ctx.body = await entry(ctx.state.accountId, id, 'entries');
  });

  return router;
}
