import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AppDeps } from '../api/context';
import { openChannelSecret, openConfig } from '../channels/credentials';
import { webchatConfigSchema, WebchatConfig } from '../channels/webchat/config';
import { originAllowed } from '../channels/webchat/origin';
import { newVisitorToken, renewalDue, verifyVisitorToken } from '../channels/webchat/visitor-token';
import { AppError } from '../errors';
import type { IngressChannel } from '../inbound/channel-lookup';

/**
 * Who may call a widget route: the channel the path names, the page calling it (CORS, by
 * the channel's `allowed_domains`) and the visitor its token names. Shared by the widget's
 * message and file routes.
 */
export interface WidgetAccess {
  /** The channel, with CORS headers for the calling page, or 403 for a page it does not allow. */
  channel(ctx: Context): Promise<{ channel: IngressChannel; config: WebchatConfig }>;
  /** The visitor the bearer token names on this channel, or 401. */
  visitor(ctx: Context, channel: IngressChannel): string;
  /** 409 while the channel is off. */
  requireActive(channel: IngressChannel): void;
  /** 429 with Retry-After when a limiter says to wait. */
  limited(ctx: Context, waitMs: number | Promise<number>): Promise<void>;
  /** Answers a browser's CORS preflight for these paths. */
  preflight(router: Router, paths: string[]): void;
}

export function widgetAccess(deps: Pick<AppDeps, 'channelLookup' | 'secrets' | 'config'>): WidgetAccess {
  const ttlMs = deps.config.WEBCHAT_VISITOR_TOKEN_DAYS * 86_400_000;
  const access: WidgetAccess = {
    async channel(ctx) {
      ctx.vary('Origin');
      const origin = ctx.get('origin');
      const channel = await deps.channelLookup.require(ctx.params.channelId, 'webchat').catch((err) => {
        // Readable by any page: "no such chat" tells a page nothing a channel's settings would.
        if (origin) ctx.set('Access-Control-Allow-Origin', '*');
        throw err;
      });
      const config = webchatConfigSchema.parse(openConfig(deps.secrets, 'webchat', channel.config, channel.id));
      // No Origin: not a browser's cross-site request (curl, a server); allowed_domains is a browser control.
      if (origin) {
        if (!originAllowed(origin, config.allowed_domains)) {
          // Readable, so the widget on that page can say why it stays hidden; it only names the page's own origin.
          ctx.set('Access-Control-Allow-Origin', '*');
          throw new AppError(403, 'origin_not_allowed', `this chat widget is not enabled for ${origin}; add its host to the channel's allowed_domains`);
        }
        ctx.set('Access-Control-Allow-Origin', origin);
        ctx.set('Access-Control-Expose-Headers', 'Retry-After, Content-Disposition, X-Visitor-Token');
      }
      return { channel, config };
    },

    visitor(ctx, channel) {
      const m = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
      const secret = openChannelSecret(deps.secrets, channel, 'webhook_secret');
      const verified = m ? verifyVisitorToken(channel.id, secret, m[1]) : undefined;
      if (!verified) {
        throw new AppError(401, 'invalid_visitor_token', 'missing, invalid or expired visitor token; get one with POST /widget/{channel_id}/visitors');
      }
      const { visitorId } = verified;
      // Half its life gone: the same visitor, a fresh token, which the widget keeps from now on.
      if (renewalDue(verified.expiresAt, ttlMs)) ctx.set('X-Visitor-Token', newVisitorToken(channel.id, secret, { ttlMs, visitorId }).token);
      return visitorId;
    },

    requireActive(channel) {
      if (!channel.is_active) throw new AppError(409, 'channel_inactive', 'this chat is not taking messages right now');
    },

    async limited(ctx, wait) {
      const waitMs = await wait;
      if (waitMs === 0) return;
      ctx.set('Retry-After', String(Math.ceil(waitMs / 1000)));
      throw new AppError(429, 'rate_limited', `too many requests; retry in ${Math.ceil(waitMs / 1000)} s`);
    },

    // A browser asks before sending JSON, a file or a bearer token across origins.
    preflight(router, paths) {
      for (const path of paths) {
        router.options(path, async (ctx) => {
          await access.channel(ctx);
          ctx.set('Access-Control-Allow-Methods', 'GET, POST');
          ctx.set('Access-Control-Allow-Headers', 'authorization, content-type');
          ctx.set('Access-Control-Max-Age', '600');
          ctx.status = 204;
        });
      }
    },
  };
  return access;
}
