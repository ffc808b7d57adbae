import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { z } from 'zod';
import type { AppDeps } from '../api/context';
import { validate } from '../api/validate';
import { openChannelSecret } from '../channels/credentials';
import { newVisitorToken } from '../channels/webchat/visitor-token';
import type { Attachment, InboundMessage } from '../channels/types';
import { claimUploads } from '../db/stored-media';
import { AppError } from '../errors';
import { readJsonBody } from '../http/body';
import { addressKey, RateLimiter } from '../http/rate-limit';
import type { WidgetAccess } from './access';
import { attachedFileIds, widgetClientId } from '../channels/webchat/fields';
import type { WidgetWaiters } from './waiters';
import { WIDGET_SCRIPT } from './widget-script';
import { conversationRef } from '../channels/types';
import { uploadedFileSchema, type UploadedFile } from '../http/upload';

export const widgetMessageSchema = z
  .object({
    id: widgetClientId.optional(),
    /** May be empty when the message carries attachments. */
    content: z.string().trim().max(4096, 'must be at most 4096 characters').default(''),
    /** Ids of this visitor's uploads (POST /widget/{channelId}/attachments), in the order shown. */
    attachments: attachedFileIds,
    /** What the visitor calls themselves; shown to agents as the contact's name. */
    name: z.string().trim().min(1).max(200).optional(),
  })
  .strict()
  .refine((m) => m.content.length > 0 || m.attachments.length > 0, { path: ['content'], message: 'must not be empty (unless the message has attachments)' });

export const widgetMessagesQuery = z.object({
  cursor: z.string().optional(),
  /** Seconds to hold the request open when there is nothing new (long polling). */
  wait: z.coerce.number().int().min(0).max(25).default(0),
});

const timestamp = z.string().describe('ISO 8601 time');

/** GET /widget/{channelId}: what the widget needs to draw itself (the channel's webchat config). */
export const widgetSettingsSchema = z.object({
  channel_id: z.uuid(),
  active: z.boolean(),
  welcome_message: z.string().nullable(),
  brand_color: z.string().nullable(),
  logo_url: z.string().nullable(),
});
/** POST /widget/{channelId}/visitors: the token names this visitor on this channel (Authorization: Bearer). */
export const widgetVisitorSchema = z.object({ visitor_id: z.string(), token: z.string() });
/** POST /widget/{channelId}/messages: the message's id (the widget's own `id`, when it sent one), once Temporal has it. */
export const widgetMessageAcceptedSchema = z.object({ id: z.string(), status: z.literal('accepted') });
/** GET /widget/{channelId}/messages: the visitor's conversation from `cursor` on, each message with its files. */
export const widgetMessagesSchema = z.object({
  data: z.array(
    z.discriminatedUnion('from', [
      z.object({
        id: z.uuid(),
        from: z.literal('visitor'),
        /** The widget's own `id` for it (a generated one when it sent none). */
        client_message_id: z.string(),
        content: z.string(),
        attachments: z.array(uploadedFileSchema),
        created_at: timestamp,
      }),
      z.object({ id: z.uuid(), from: z.literal('agent'), content: z.string(), attachments: z.array(uploadedFileSchema), created_at: timestamp.describe('When it was sent') }),
    ]),
  ),
  /** Sealed; pass it back to get only what is new. */
  cursor: z.string(),
});
type WidgetMessage = z.infer<typeof widgetMessagesSchema>['data'][number];

const PAGE = 100;
/** Reads per visitor per minute: a widget long-polling with wait=25 makes about three. */
const READS_PER_MINUTE = 120;
/** How many visitors' allowance one address gets (a household, an office behind one address). */
const ADDRESS_FACTOR = 10;
/**
 * A reply pending longer than this no longer holds back what came after it: one left
 * pending for good (the api stopped between storing it and handing it to Temporal)
 * must not freeze the visitor's chat. A webchat send is local, so a live reply is
 * pending for well under a second.
 */
const PENDING_HOLD_MS = 10 * 60_000;

/**
 * The web chat widget's API. PingBack is the platform here: a visitor gets a signed
 * token, posts messages (a signal-with-start, as every platform's webhook) and reads
 * the agents' replies back. Browsers call it across origins, so every answer carries
 * CORS headers for the pages the channel's `allowed_domains` lets in.
 */
export function webchatIngress(deps: AppDeps, waiters: WidgetWaiters, access: WidgetAccess): Router {
  const router = new Router();
  // Its own key: a cursor is handed to strangers, and must be no oracle for credentials.
  const cursors = deps.secrets.for('widget-cursor');
  const messagesPerVisitor = new RateLimiter(deps.db, { name: 'widget-messages', perMinute: deps.config.WEBCHAT_MESSAGES_PER_MINUTE });
  // An address may hold several visitors (a household, an office): a few times one visitor's allowance.
  const messagesPerAddress = new RateLimiter(deps.db, { name: 'widget-messages-address', perMinute: ADDRESS_FACTOR * deps.config.WEBCHAT_MESSAGES_PER_MINUTE });
  const readsPerVisitor = new RateLimiter(deps.db, { name: 'widget-reads', perMinute: READS_PER_MINUTE });
  const readsPerAddress = new RateLimiter(deps.db, { name: 'widget-reads-address', perMinute: ADDRESS_FACTOR * READS_PER_MINUTE });
  const visitorsPerAddress = new RateLimiter(deps.db, { name: 'widget-visitors', perMinute: deps.config.WEBCHAT_VISITORS_PER_MINUTE });

  const { requireActive, limited } = access;
  access.preflight(router, ['/widget/:channelId', '/widget/:channelId/visitors', '/widget/:channelId/messages']);

  /** The script a site embeds (src/widget/widget-script.ts); same for every channel, so caches may share it. */
  router.get('/widget.js', (ctx) => {
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = WIDGET_SCRIPT;
  });

  /** What the widget needs to draw itself. */
  router.get('/widget/:channelId', async (ctx) => {
    const { channel, config } = await access.channel(ctx);
    ctx.body = {
      channel_id: channel.id,
      active: channel.is_active,
      welcome_message: config.welcome_message ?? null,
      brand_color: config.brand_color ?? null,
      logo_url: config.logo_url ?? null,
    } satisfies z.infer<typeof widgetSettingsSchema>;
  });

  router.post('/widget/:channelId/visitors', async (ctx) => {
    const { channel } = await access.channel(ctx);
    requireActive(channel);
    await limited(ctx, visitorsPerAddress.take(`${channel.id}:${addressKey(ctx.ip)}`));
    const { visitorId, token } = newVisitorToken(channel.id, openChannelSecret(deps.secrets, channel, 'webhook_secret'), { ttlMs: deps.config.WEBCHAT_VISITOR_TOKEN_DAYS * 86_400_000 });
    ctx.status = 201;
    ctx.body = { visitor_id: visitorId, token } satisfies z.infer<typeof widgetVisitorSchema>;
  });

  router.post('/widget/:channelId/messages', async (ctx) => {
    const { channel } = await access.channel(ctx);
    const visitorId = access.visitor(ctx, channel);
    requireActive(channel);
    await limited(ctx, messagesPerVisitor.take(`${channel.id}:${visitorId}`));
    await limited(ctx, messagesPerAddress.take(`${channel.id}:${addressKey(ctx.ip)}`));
    const input = validate(widgetMessageSchema, (await readJsonBody(ctx, 16 * 1024)).json);
    // Claimed before the signal, linked when the message is stored: a message refused after this
    // (Temporal down) is sent again by the widget with the same ids, or its files are swept.
    const attachments = await claimUploads(deps.db, channel.id, visitorId, input.attachments);
    const message: InboundMessage = {
      platformMessageId: input.id ?? randomUUID(),
      threadKey: visitorId,
      contact: { platformUserId: visitorId, name: input.name ?? null },
      content: input.content,
      // As other channels record a photo with a caption: the first file's kind.
      contentType: attachments.length > 0 ? attachments[0].type : 'text',
      attachments,
      metadata: {},
      platformTimestamp: new Date().toISOString(),
    };
    await deps.signaller.inbound(conversationRef(channel, visitorId), message);
    ctx.status = 202;
    ctx.body = { id: message.platformMessageId, status: 'accepted' } satisfies z.infer<typeof widgetMessageAcceptedSchema>;
  });

  /**
   * The visitor's conversation, oldest first, from `cursor` on. Agents' replies appear once
   * sent, in the order agents wrote them: a page stops before a reply still pending, so a
   * cursor never moves past one (see PENDING_HOLD_MS). Rows also become visible in `seq`
   * order: sendOutbound marks a reply sent or failed only after any inbound write of the
   * same conversation in flight has committed (it waits on the conversation's row, which
   * persistInbound holds while it takes its seqs). With `wait`, an empty answer is held
   * back until something arrives or the seconds pass.
   */
  router.get('/widget/:channelId/messages', async (ctx) => {
    const { channel } = await access.channel(ctx);
    const visitorId = access.visitor(ctx, channel);
    await limited(ctx, readsPerVisitor.take(`${channel.id}:${visitorId}`));
    await limited(ctx, readsPerAddress.take(`${channel.id}:${addressKey(ctx.ip)}`));
    const q = validate(widgetMessagesQuery, ctx.query, 'query');
    const after = q.cursor === undefined ? 0 : openCursor(q.cursor, channel.id, visitorId);
    const gone = new AbortController();
    ctx.req.once('close', () => gone.abort());
    const deadline = Date.now() + q.wait * 1000;
    let page = await visitorPage(channel.id, visitorId, after);
    while (page.data.length === 0 && (await waiters.wait(channel.id, visitorId, after, deadline - Date.now(), gone.signal))) {
      page = await visitorPage(channel.id, visitorId, after);
    }
    ctx.body = { data: page.data, cursor: cursors.seal(`${visitorId}:${page.last}`, channel.id) } satisfies z.infer<typeof widgetMessagesSchema>;
  });

  /** A cursor this endpoint gave this visitor, or 400. Sealed: it would otherwise show the instance's message count. */
  function openCursor(cursor: string, channelId: string, visitorId: string): number {
    let plain = '';
    try {
      plain = cursors.open(cursor, channelId);
    } catch {
      /* tampered, or sealed with a key no longer configured */
    }
    const seq = plain.startsWith(`${visitorId}:`) ? plain.slice(visitorId.length + 1) : '';
    if (!/^\d{1,19}$/.test(seq)) throw new AppError(400, 'invalid_cursor', 'cursor is not one this endpoint gave this visitor; read from the start without one');
    return Number(seq);
  }

  async function visitorPage(channelId: string, visitorId: string, after: number) {
    const rows = await deps
      .db('messages as m')
      .join('conversations as c', 'c.id', 'm.conversation_id')
      .where({ 'c.channel_id': channelId, 'c.thread_key': visitorId })
      .andWhere('m.seq', '>', after)
      .orderBy('m.seq', 'asc')
      .limit(PAGE)
      .select('m.id', 'm.seq', 'm.direction', 'm.status', 'm.content', 'm.attachments', 'm.platform_message_id', 'm.created_at', 'm.retried_at', 'm.sent_at');
    const data: WidgetMessage[] = [];
    let last = after;
    for (const r of rows) {
      // A retried reply is held from its retry (it took a new seq then).
      if (r.direction === 'outbound' && r.status === 'pending' && Date.now() - new Date(r.retried_at ?? r.created_at).getTime() < PENDING_HOLD_MS) break;
      last = Number(r.seq);
      if (r.direction === 'outbound' && (r.status === 'failed' || r.status === 'pending' || r.status === 'waiting_for_channel')) continue;
      data.push(
        r.direction === 'inbound'
          ? { id: r.id, from: 'visitor', client_message_id: r.platform_message_id, content: r.content, attachments: uploadsOf(r.attachments), created_at: iso(r.created_at) }
          : { id: r.id, from: 'agent', content: r.content, attachments: uploadsOf(r.attachments), created_at: iso(r.sent_at ?? r.created_at) },
      );
    }
    return { data, last };
  }

  return router;
}

/** A message's files (the visitor's, or an agent's reply's), as the widget lists them. */
function uploadsOf(attachments: Attachment[]): UploadedFile[] {
  return attachments.flatMap((a) =>
    typeof a.storedMediaId === 'string'
      ? // A kept file's attachment records its size (claimUploads).
        [{ id: a.storedMediaId, file_name: a.fileName ?? null, content_type: a.mimeType ?? 'application/octet-stream', size: a.size as number }]
      : [],
  );
}

/** What JSON.stringify makes of a timestamp column's Date, made here so the answer's type says it. */
const iso = (d: Date) => new Date(d).toISOString();
