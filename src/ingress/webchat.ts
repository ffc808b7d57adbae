import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AppDeps } from '../api/context';
import { validate } from '../api/validate';
import { openConfig } from '../channels/credentials';
import { webchatConfigSchema, WebchatConfig } from '../channels/webchat/config';
import { originAllowed } from '../channels/webchat/origin';
import { newVisitorToken, verifyVisitorToken } from '../channels/webchat/visitor-token';
import type { Attachment, InboundMessage } from '../channels/types';
import { isUuid } from '../db/ids';
import { attachUploads, readStoredMedia, StoredMediaInfo, storeUpload, sweepUnattached } from '../db/stored-media';
import { AppError, notFound } from '../errors';
import { readJsonBody, readRawBody } from '../http/body';
import { sendMedia } from '../http/media-response';
import { RateLimiter } from '../http/rate-limit';
import type { IngressChannel } from './channel-lookup';
import type { WidgetWaiters } from './widget-waiters';
import { WIDGET_SCRIPT } from '../widget/widget-script';

/** An id the widget gives a message or an upload, so that sending it again (a retry after a timeout) stores it once. */
const clientId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'must be letters, digits and _ . : - only');

export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

export const widgetMessageSchema = z
  .object({
    id: clientId.optional(),
    /** May be empty when the message carries attachments. */
    content: z.string().trim().max(4096, 'must be at most 4096 characters').default(''),
    /** Ids of this visitor's uploads (POST /widget/{channelId}/attachments), in the order shown. */
    attachments: z
      .array(z.uuid('must be an upload id'))
      .max(MAX_ATTACHMENTS_PER_MESSAGE, `must be at most ${MAX_ATTACHMENTS_PER_MESSAGE}`)
      .refine((ids) => new Set(ids).size === ids.length, 'must not name an upload twice')
      .default([]),
    /** What the visitor calls themselves; shown to agents as the contact's name. */
    name: z.string().trim().min(1).max(200).optional(),
  })
  .strict()
  .refine((m) => m.content.length > 0 || m.attachments.length > 0, { path: ['content'], message: 'must not be empty (unless the message has attachments)' });

export const widgetUploadQuery = z
  .object({
    id: clientId.optional(),
    /** The file's name as the visitor's device had it. */
    name: z
      .string()
      .trim()
      .min(1)
      .max(255, 'must be at most 255 characters')
      // A name is shown and offered for download, never used as a path.
      .refine((n) => !/[\/\\\u0000-\u001f\u007f]/.test(n), 'must not contain slashes or control characters')
      .optional(),
  })
  .strict();

export const widgetMessagesQuery = z.object({
  cursor: z.string().optional(),
  /** Seconds to hold the request open when there is nothing new (long polling). */
  wait: z.coerce.number().int().min(0).max(25).default(0),
});

const PAGE = 100;
/** Reads per visitor per minute: a widget long-polling with wait=25 makes about three. */
const READS_PER_MINUTE = 120;
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
export function webchatIngress(deps: AppDeps, waiters: WidgetWaiters): Router {
  const router = new Router();
  const messagesPerVisitor = new RateLimiter(deps.config.WEBCHAT_MESSAGES_PER_MINUTE, 60_000);
  const readsPerVisitor = new RateLimiter(READS_PER_MINUTE, 60_000);
  const visitorsPerAddress = new RateLimiter(deps.config.WEBCHAT_VISITORS_PER_MINUTE, 60_000);
  const uploadsPerVisitor = new RateLimiter(deps.config.WEBCHAT_UPLOADS_PER_MINUTE, 60_000);

  /** The channel the path names, with CORS headers for the calling page, or 403 for a page it does not allow. */
  async function widgetChannel(ctx: Context): Promise<{ channel: IngressChannel; config: WebchatConfig }> {
    ctx.vary('Origin');
    const origin = ctx.get('origin');
    const channel = await deps.channelLookup.require(ctx.params.channelId, 'webchat').catch((err) => {
      // Readable by any page: "no such chat" tells a page nothing a channel's settings would.
      if (origin) ctx.set('Access-Control-Allow-Origin', '*');
      throw err;
    });
    const config = webchatConfigSchema.parse(openConfig(deps.secrets, 'webchat', channel.config));
    // No Origin: not a browser's cross-site request (curl, a server); allowed_domains is a browser control.
    if (origin) {
      if (!originAllowed(origin, config.allowed_domains)) {
        // Readable, so the widget on that page can say why it stays hidden; it only names the page's own origin.
        ctx.set('Access-Control-Allow-Origin', '*');
        throw new AppError(403, 'origin_not_allowed', `this chat widget is not enabled for ${origin}; add its host to the channel's allowed_domains`);
      }
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Expose-Headers', 'Retry-After, Content-Disposition');
    }
    return { channel, config };
  }

  function visitorOf(ctx: Context, channel: IngressChannel): string {
    const m = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
    const visitorId = m ? verifyVisitorToken(channel.id, channel.webhook_secret, m[1]) : undefined;
    if (!visitorId) {
      throw new AppError(401, 'invalid_visitor_token', 'missing or invalid visitor token; get one with POST /widget/{channel_id}/visitors');
    }
    return visitorId;
  }

  const requireActive = (channel: IngressChannel) => {
    if (!channel.is_active) throw new AppError(409, 'channel_inactive', 'this chat is not taking messages right now');
  };

  const limited = (ctx: Context, waitMs: number) => {
    if (waitMs === 0) return;
    ctx.set('Retry-After', String(Math.ceil(waitMs / 1000)));
    throw new AppError(429, 'rate_limited', `too many requests; retry in ${Math.ceil(waitMs / 1000)} s`);
  };

  // Preflight: a browser asks before sending JSON or a bearer token across origins.
  for (const path of ['/widget/:channelId', '/widget/:channelId/visitors', '/widget/:channelId/messages', '/widget/:channelId/attachments', '/widget/:channelId/attachments/:id']) {
    router.options(path, async (ctx) => {
      await widgetChannel(ctx);
      ctx.set('Access-Control-Allow-Methods', 'GET, POST');
      ctx.set('Access-Control-Allow-Headers', 'authorization, content-type');
      ctx.set('Access-Control-Max-Age', '600');
      ctx.status = 204;
    });
  }

  /** The script a site embeds (src/widget/widget-script.ts); same for every channel, so caches may share it. */
  router.get('/widget.js', (ctx) => {
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = WIDGET_SCRIPT;
  });

  /** What the widget needs to draw itself. */
  router.get('/widget/:channelId', async (ctx) => {
    const { channel, config } = await widgetChannel(ctx);
    ctx.body = {
      channel_id: channel.id,
      active: channel.is_active,
      welcome_message: config.welcome_message ?? null,
      brand_color: config.brand_color ?? null,
      logo_url: config.logo_url ?? null,
    };
  });

  router.post('/widget/:channelId/visitors', async (ctx) => {
    const { channel } = await widgetChannel(ctx);
    requireActive(channel);
    limited(ctx, visitorsPerAddress.take(`${channel.id}:${ctx.ip}`));
    const { visitorId, token } = newVisitorToken(channel.id, channel.webhook_secret);
    ctx.status = 201;
    ctx.body = { visitor_id: visitorId, token };
  });

  router.post('/widget/:channelId/messages', async (ctx) => {
    const { channel } = await widgetChannel(ctx);
    const visitorId = visitorOf(ctx, channel);
    requireActive(channel);
    limited(ctx, messagesPerVisitor.take(`${channel.id}:${visitorId}`));
    const input = validate(widgetMessageSchema, (await readJsonBody(ctx, 16 * 1024)).json);
    // Marked as taken before the signal: a message refused after this (Temporal down) is sent
    // again by the widget with the same ids, and an upload no message ever took is swept.
    const attachments = await attachUploads(deps.db, channel.id, visitorId, input.attachments);
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
    await deps.signaller.inbound({ accountId: channel.account_id, channelId: channel.id, channelType: 'webchat', threadKey: visitorId }, message);
    ctx.status = 202;
    ctx.body = { id: message.platformMessageId, status: 'accepted' };
  });

  /**
   * A file for a message to carry: the raw bytes, typed by Content-Type. PingBack keeps it
   * (there is no platform to fetch it from again); one no message names within a day is
   * swept. Uploading with the same `id` again answers with the first upload.
   */
  router.post('/widget/:channelId/attachments', async (ctx) => {
    const { channel } = await widgetChannel(ctx);
    const visitorId = visitorOf(ctx, channel);
    requireActive(channel);
    const q = validate(widgetUploadQuery, ctx.query, 'query');
    const contentType = uploadedType(ctx.get('content-type'));
    limited(ctx, uploadsPerVisitor.take(`${channel.id}:${visitorId}`));
    const bytes = await readRawBody(ctx, deps.config.WEBCHAT_ATTACHMENT_MAX_BYTES);
    if (bytes.length === 0) throw new AppError(400, 'empty_attachment', 'the file is empty');
    await sweepUnattached(deps.db, channel.id);
    const { info, created } = await storeUpload(deps.db, { channelId: channel.id, owner: visitorId, clientId: q.id, contentType, fileName: q.name, bytes });
    ctx.status = created ? 201 : 200;
    ctx.body = uploadView(info);
  });

  /** One of the visitor's own files back (the widget shows what it sent). */
  router.get('/widget/:channelId/attachments/:id', async (ctx) => {
    const { channel } = await widgetChannel(ctx);
    const visitorId = visitorOf(ctx, channel);
    limited(ctx, readsPerVisitor.take(`${channel.id}:${visitorId}`));
    const stored = isUuid(ctx.params.id) ? await readStoredMedia(deps.db, ctx.params.id, { channelId: channel.id, owner: visitorId }) : undefined;
    if (!stored) throw notFound('attachment');
    sendMedia(ctx, { body: stored.bytes, contentType: stored.content_type, contentLength: stored.size, fileName: stored.file_name ?? undefined });
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
    const { channel } = await widgetChannel(ctx);
    const visitorId = visitorOf(ctx, channel);
    limited(ctx, readsPerVisitor.take(`${channel.id}:${visitorId}`));
    const q = validate(widgetMessagesQuery, ctx.query, 'query');
    const after = q.cursor === undefined ? 0 : openCursor(q.cursor, visitorId);
    const gone = new AbortController();
    ctx.req.once('close', () => gone.abort());
    const deadline = Date.now() + q.wait * 1000;
    let page = await visitorPage(channel.id, visitorId, after);
    while (page.data.length === 0 && (await waiters.wait(channel.id, visitorId, after, deadline - Date.now(), gone.signal))) {
      page = await visitorPage(channel.id, visitorId, after);
    }
    ctx.body = { data: page.data, cursor: deps.secrets.seal(`${visitorId}:${page.last}`) };
  });

  /** A cursor this endpoint gave this visitor, or 400. Sealed: it would otherwise show the instance's message count. */
  function openCursor(cursor: string, visitorId: string): number {
    let plain = '';
    try {
      plain = deps.secrets.open(cursor);
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
      .select('m.id', 'm.seq', 'm.direction', 'm.status', 'm.content', 'm.attachments', 'm.platform_message_id', 'm.created_at', 'm.sent_at');
    const data = [];
    let last = after;
    for (const r of rows) {
      if (r.direction === 'outbound' && r.status === 'pending' && Date.now() - new Date(r.created_at).getTime() < PENDING_HOLD_MS) break;
      last = Number(r.seq);
      if (r.direction === 'outbound' && (r.status === 'failed' || r.status === 'pending')) continue;
      data.push(
        r.direction === 'inbound'
          ? { id: r.id, from: 'visitor', client_message_id: r.platform_message_id, content: r.content, attachments: uploadsOf(r.attachments), created_at: r.created_at }
          : { id: r.id, from: 'agent', content: r.content, created_at: r.sent_at ?? r.created_at },
      );
    }
    return { data, last };
  }

  return router;
}

/** The widget's view of an upload. */
function uploadView(info: StoredMediaInfo) {
  return { id: info.id, file_name: info.file_name, content_type: info.content_type, size: info.size };
}

/** A visitor message's files, as the widget lists them. */
function uploadsOf(attachments: Attachment[]) {
  return attachments.flatMap((a) =>
    typeof a.storedMediaId === 'string'
      ? [{ id: a.storedMediaId, file_name: a.fileName ?? null, content_type: a.mimeType ?? 'application/octet-stream', size: a.size }]
      : [],
  );
}

/** The upload's MIME type without parameters, or 415: it decides how the file is shown and served. */
function uploadedType(header: string): string {
  const type = header.split(';')[0].trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/.test(type)) {
    throw new AppError(415, 'unsupported_media_type', 'send the file as the request body with its MIME type as Content-Type (image/png, application/pdf …)');
  }
  return type;
}
