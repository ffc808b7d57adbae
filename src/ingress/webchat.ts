import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AppDeps } from '../api/context';
import { encodeCursor, decodeCursor, messageCursor } from '../api/cursor';
import { validate } from '../api/validate';
import { openConfig } from '../channels/credentials';
import { webchatConfigSchema, WebchatConfig } from '../channels/webchat/config';
import { originAllowed } from '../channels/webchat/origin';
import { newVisitorToken, verifyVisitorToken } from '../channels/webchat/visitor-token';
import type { InboundMessage } from '../channels/types';
import { AppError } from '../errors';
import { readJsonBody } from '../http/body';
import { RateLimiter } from '../http/rate-limit';
import type { IngressChannel } from './channel-lookup';

export const widgetMessageSchema = z
  .object({
    /** The widget's own id for the message: sending it again (a retry after a timeout) stores it once. */
    id: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9_.:-]+$/, 'must be letters, digits and _ . : - only')
      .optional(),
    content: z.string().trim().min(1, 'must not be empty').max(4096, 'must be at most 4096 characters'),
    /** What the visitor calls themselves; shown to agents as the contact's name. */
    name: z.string().trim().min(1).max(200).optional(),
  })
  .strict();

export const widgetMessagesQuery = z.object({
  cursor: z.string().optional(),
  /** Seconds to hold the request open when there is nothing new (long polling). */
  wait: z.coerce.number().int().min(0).max(25).default(0),
});

const PAGE = 100;
const POLL_INTERVAL_MS = 1_000;

/**
 * The web chat widget's API. PingBack is the platform here: a visitor gets a signed
 * token, posts messages (a signal-with-start, as every platform's webhook) and reads
 * the agents' replies back. Browsers call it across origins, so every answer carries
 * CORS headers for the pages the channel's `allowed_domains` lets in.
 */
export function webchatIngress(deps: AppDeps): Router {
  const router = new Router();
  const messagesPerVisitor = new RateLimiter(deps.config.WEBCHAT_MESSAGES_PER_MINUTE, 60_000);
  const visitorsPerAddress = new RateLimiter(deps.config.WEBCHAT_VISITORS_PER_MINUTE, 60_000);

  /** The channel the path names, with CORS headers for the calling page, or 403 for a page it does not allow. */
  async function widgetChannel(ctx: Context): Promise<{ channel: IngressChannel; config: WebchatConfig }> {
    const channel = await deps.channelLookup.require(ctx.params.channelId, 'webchat');
    const config = webchatConfigSchema.parse(openConfig(deps.secrets, 'webchat', channel.config));
    ctx.vary('Origin');
    const origin = ctx.get('origin');
    // No Origin: not a browser's cross-site request (curl, a server); allowed_domains is a browser control.
    if (origin) {
      if (!originAllowed(origin, config.allowed_domains)) {
        throw new AppError(403, 'origin_not_allowed', `this chat widget is not enabled for ${origin}; add its host to the channel's allowed_domains`);
      }
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Expose-Headers', 'Retry-After');
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

  // Preflight for the two routes a browser sends JSON or a bearer token to.
  for (const path of ['/widget/:channelId', '/widget/:channelId/visitors', '/widget/:channelId/messages']) {
    router.options(path, async (ctx) => {
      await widgetChannel(ctx);
      ctx.set('Access-Control-Allow-Methods', 'GET, POST');
      ctx.set('Access-Control-Allow-Headers', 'authorization, content-type');
      ctx.set('Access-Control-Max-Age', '600');
      ctx.status = 204;
    });
  }

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
    const message: InboundMessage = {
      platformMessageId: input.id ?? randomUUID(),
      threadKey: visitorId,
      contact: { platformUserId: visitorId, name: input.name ?? null },
      content: input.content,
      contentType: 'text',
      attachments: [],
      metadata: {},
      platformTimestamp: new Date().toISOString(),
    };
    await deps.signaller.inbound({ accountId: channel.account_id, channelId: channel.id, channelType: 'webchat', threadKey: visitorId }, message);
    ctx.status = 202;
    ctx.body = { id: message.platformMessageId, status: 'accepted' };
  });

  /**
   * The visitor's conversation, oldest first, from `cursor` on. Agents' replies appear once
   * sent, in the order agents wrote them: a page stops before a reply still pending, so a
   * reply is never skipped by a cursor that moved past it. With `wait`, an empty answer is
   * held back until something arrives or the seconds pass.
   */
  router.get('/widget/:channelId/messages', async (ctx) => {
    const { channel } = await widgetChannel(ctx);
    const visitorId = visitorOf(ctx, channel);
    const q = validate(widgetMessagesQuery, ctx.query, 'query');
    const after = Number(decodeCursor(q.cursor, messageCursor)?.[0] ?? 0);
    let closed = false;
    ctx.req.once('close', () => (closed = true));
    const deadline = Date.now() + q.wait * 1000;
    let page = await visitorPage(channel.id, visitorId, after);
    while (page.data.length === 0 && !closed && Date.now() + POLL_INTERVAL_MS <= deadline) {
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
      page = await visitorPage(channel.id, visitorId, after);
    }
    ctx.body = { data: page.data, cursor: encodeCursor([String(page.last)]) };
  });

  async function visitorPage(channelId: string, visitorId: string, after: number) {
    const conv = await deps.db('conversations').where({ channel_id: channelId, thread_key: visitorId }).first('id');
    if (!conv) return { data: [], last: after };
    const rows = await deps
      .db('messages')
      .where('conversation_id', conv.id)
      .andWhere('seq', '>', after)
      .orderBy('seq', 'asc')
      .limit(PAGE)
      .select('id', 'seq', 'direction', 'status', 'content', 'platform_message_id', 'created_at', 'sent_at');
    const data = [];
    let last = after;
    for (const r of rows) {
      if (r.direction === 'outbound' && r.status === 'pending') break;
      last = Number(r.seq);
      if (r.direction === 'outbound' && r.status === 'failed') continue;
      data.push(
        r.direction === 'inbound'
          ? { id: r.id, from: 'visitor', client_message_id: r.platform_message_id, content: r.content, created_at: r.created_at }
          : { id: r.id, from: 'agent', content: r.content, created_at: r.sent_at ?? r.created_at },
      );
    }
    return { data, last };
  }

  return router;
}
