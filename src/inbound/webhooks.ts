import Router from '@koa/router';
import { z } from 'zod';
import type { Context } from 'koa';
import type { AppDeps } from '../api/context';
import { webhookChannels } from '../channels';
import { openChannelSecret, openConfig } from '../channels/credentials';
import { adapterContextFrom } from '../channels/adapter-context';
import { CHANNEL_DISPLAY_NAMES, type AdapterContext, type InboundEvent, type WebhookChannel, type WebhookRequest } from '../channels/types';
import { readPlatformState } from '../db/channel-state';
import { arrivedFileLimitsFrom } from '../db/stored-media';
import { AppError } from '../errors';
import { readRawBody } from '../http/body';
import { addressKey, RateLimiter } from '../http/rate-limit';
import { deliverEvents, digestKey, setAsideWhole } from './deliver';
import type { IngressChannel } from './channel-lookup';

/**
 * What a webhook answers a delivery set aside whole, besides its platform's own answer: the
 * channel is off (channel_inactive), or the events are not this channel's (the adapter's
 * foreignReason: not_for_this_channel, other_account). Kept in ignored_events.
 */
export const webhookSetAsideSchema = z.object({ ok: z.literal(true), ignored: z.string() });

/** Webhook requests for channels that do not exist, per address: platforms never send these; someone guessing does. */
const UNKNOWN_CHANNEL_LOOKUPS_PER_MINUTE = 30;

/**
 * Every platform's webhook, `/webhooks/<type>/<channel id>` (the URL pasted in the platform's
 * console, or registered by PingBack): look the channel up, run the adapter's handshake (GET)
 * or its verify and parse (POST), and hand the events to src/inbound/deliver.ts. A channel that
 * is off still has its deliveries acknowledged, so the platform stops retrying, and kept in
 * ignored_events; nothing of it reaches a conversation.
 */
export function webhookRoutes(deps: AppDeps): Router {
  const router = new Router();
  const context = adapterContextFrom(deps.config);
  const fileLimits = arrivedFileLimitsFrom(deps.config);
  const misses = new RateLimiter(deps.db, { name: 'webhook-misses', perMinute: UNKNOWN_CHANNEL_LOOKUPS_PER_MINUTE });
  for (const { type, hook } of webhookChannels()) {
    const path = `/webhooks/${type}/:channelId`;
    const channelOf = async (ctx: Context) => {
      try {
        return webhookChannel(deps, context, await deps.channelLookup.require(ctx.params.channelId, type));
      } catch (err) {
        // Guessing channel ids from one address: a few misses a minute, then 429.
        if (err instanceof AppError && err.status === 404) {
          const waitMs = await misses.take(addressKey(ctx.ip));
          if (waitMs > 0) {
            ctx.set('Retry-After', String(Math.ceil(waitMs / 1000)));
            throw new AppError(429, 'rate_limited', `too many requests for unknown channels; retry in ${Math.ceil(waitMs / 1000)} s`);
          }
        }
        throw err;
      }
    };

    if (hook.handshake) {
      const handshake = hook.handshake.bind(hook);
      router.get(path, async (ctx) => {
        const channel = await channelOf(ctx);
        const answer = handshake(ctx.query, channel);
        if (answer.connected !== undefined && channel.is_active) {
          // A handshake proves the callback URL, not the credentials: a channel waiting for new ones stays so.
          await deps.db('channels').where({ id: channel.id }).whereNot({ status: 'reconnect_required' }).update({ status: 'connected', status_message: answer.connected, updated_at: deps.db.fn.now() });
        }
        deps.log.info('webhook handshake answered', { channel_id: channel.id, type });
        if (typeof answer.body === 'string') ctx.type = 'text/plain';
        ctx.body = answer.body;
      });
    }

    router.post(path, async (ctx) => {
      const channel = await channelOf(ctx);
      let raw: Promise<Buffer> | undefined;
      const req: WebhookRequest = {
        header: (name) => ctx.get(name),
        query: ctx.query,
        body: () => (raw ??= hook.readBody ? hook.readBody(ctx) : readRawBody(ctx)),
      };
      try {
        await hook.verify(req, channel);
      } catch (err) {
        if (hook.wwwAuthenticate && err instanceof AppError && err.status === 401) ctx.set('WWW-Authenticate', hook.wwwAuthenticate);
        throw err;
      }
      const body = await req.body();
      const parsed = await hook.parse(body, channel);
      const unreadable = parsed.events.filter((e): e is Extract<InboundEvent, { kind: 'ignored' }> => e.kind === 'ignored' && e.problem !== undefined);
      // Acknowledged all the same (the platform would only redeliver the same bytes); someone should look at what it sent.
      if (unreadable.length) deps.log.warn('webhook events unreadable, kept in ignored_events', { channel_id: channel.id, type, problems: unreadable.map((e) => e.problem) });
      const setAside = async (reason: string) => {
        await setAsideWhole(deps.db, channel.id, reason, parsed.whole.ids.length ? parsed.whole : { ...parsed.whole, ids: [digestKey(body)] });
        deps.log.info('webhook ignored', { channel_id: channel.id, type, reason });
        ctx.body = { ok: true, ignored: reason } satisfies z.infer<typeof webhookSetAsideSchema>;
      };
      if (!channel.is_active) {
        await deliverEvents(deps, channel, unreadable);
        return setAside('channel_inactive');
      }
      const owns = hook.owns && ((owner: string) => hook.owns!(owner, channel));
      const foreignReason = hook.foreignReason ?? 'not_for_this_channel';
      if (parsed.owner !== undefined && owns && !(await owns(parsed.owner))) return setAside(foreignReason);

      const outcome = await deliverEvents(deps, channel, parsed.events, { owns, foreignReason, fileLimits });
      for (const reason of outcome.filesDropped ?? []) deps.metrics?.mailFilesDropped(reason);
      if (outcome.ignored.length) deps.log.info('webhook events set aside', { channel_id: channel.id, type, reasons: outcome.ignored });
      if (outcome.skipped.length) deps.log.debug('webhook events not routed', { channel_id: channel.id, type, reasons: outcome.skipped });
      ctx.body = hook.answer(outcome);
    });
  }
  return router;
}

function webhookChannel(deps: AppDeps, context: AdapterContext, row: IngressChannel): WebhookChannel<unknown> {
  let config: unknown;
  let account: Promise<string> | undefined;
  return {
    id: row.id,
    account_id: row.account_id,
    type: row.type,
    is_active: row.is_active,
    get webhookSecret() {
      return openChannelSecret(deps.secrets, row, 'webhook_secret');
    },
    get verifyToken() {
      return openChannelSecret(deps.secrets, row, 'verify_token');
    },
    get config() {
      return (config ??= openConfig(deps.secrets, row.type, row.config, row.id));
    },
    platformAccountId: () => (account ??= platformAccountOf(deps, row)),
    context,
  };
}

async function platformAccountOf(deps: AppDeps, channel: IngressChannel): Promise<string> {
  const platform = CHANNEL_DISPLAY_NAMES[channel.type];
  const state = await readPlatformState(deps.db, channel.id).catch((err: unknown) => {
    throw new AppError(503, 'database_unavailable', `the channel's ${platform} account could not be read; retry later`, undefined, err);
  });
  // Not known yet: nothing can be routed (another account's events would be taken for this one's). The platform redelivers.
  if (!state?.platform_account_id) {
    throw new AppError(503, 'channel_account_unknown', `the channel's ${platform} account is not known yet (its credentials are still being checked); retry later`);
  }
  return state.platform_account_id;
}
