import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { AppDeps } from '../api/context';
import { openConfig } from '../channels/credentials';
import { accountActivitySchema, otherEventKinds, parseAccountActivity } from '../channels/x/inbound';
import { crcResponseToken, isCrcToken, SIGNATURE_HEADER, verifyWebhookSignature } from '../channels/x/webhook';
import { readPlatformState } from '../db/channel-state';
import { recordIgnoredEvents } from '../db/ignored-events';
import { AppError } from '../errors';
import { parseJson, parsePlatformPayload, readRawBody } from '../http/body';
import { conversationRef } from '../channels/types';

type XWebhookConfig = { api_secret?: string; inbound?: 'polling' | 'webhook' };

/**
 * X's Account Activity webhook. X runs a CRC check (GET) when the webhook is registered
 * and then hourly; a failed one stops deliveries. Deliveries (POST) are answered 200 only
 * once Temporal holds every DM they carry, 503 otherwise; a DM that also arrives by
 * polling, or again, is stored once (the X event id keys it).
 */
export function xIngress(deps: AppDeps): Router {
  const router = new Router();

  router.get('/webhooks/x/:channelId', async (ctx) => {
    const channel = await deps.channelLookup.require(ctx.params.channelId, 'x');
    const { api_secret, inbound } = openConfig(deps.secrets, 'x', channel.config) as XWebhookConfig;
    // Proving the consumer secret is only needed for a webhook X should deliver to; a polling
    // channel does not answer, so nothing is exposed for channels that never use it. 400, not
    // 404: the URL is right, the channel's setting is what the person registering must change.
    if (inbound !== 'webhook') {
      throw new AppError(400, 'webhook_not_enabled', 'this channel receives DMs by polling; set its config "inbound" to "webhook" before registering this URL with X');
    }
    const token = typeof ctx.query.crc_token === 'string' ? ctx.query.crc_token : '';
    if (!token) throw new AppError(400, 'missing_crc_token', 'crc_token query parameter is required');
    // The answer is the same HMAC that signs deliveries: for any token it would sign any
    // body. Only X's token shape is answered, and no JSON object has it (see isCrcToken).
    if (!isCrcToken(token)) throw new AppError(400, 'invalid_crc_token', 'crc_token must be 1 to 256 letters, digits or . _ ~ -');
    if (!api_secret) {
      throw new AppError(400, 'missing_consumer_secret', "the channel has no api_secret (consumer secret) to answer X's CRC check with; add it to the channel's config");
    }
    deps.log.info('x crc check answered', { channel_id: channel.id });
    ctx.body = { response_token: crcResponseToken(api_secret, token) };
  });

  router.post('/webhooks/x/:channelId', async (ctx) => {
    const channel = await deps.channelLookup.require(ctx.params.channelId, 'x');
    const raw = await readRawBody(ctx);
    const { api_secret } = openConfig(deps.secrets, 'x', channel.config) as XWebhookConfig;
    if (!api_secret || !verifyWebhookSignature(api_secret, raw, ctx.get(SIGNATURE_HEADER) || undefined)) {
      throw new AppError(401, 'invalid_signature', `missing or wrong ${SIGNATURE_HEADER} header`);
    }
    const payload = parsePlatformPayload(accountActivitySchema, parseJson(raw), 'invalid_payload', 'an Account Activity event');
    const { events, unreadable } = parseAccountActivity(payload);

    const setAsideUnreadable = async () => {
      if (!unreadable.length) return;
      // Kept for a person to look at; the delivery's other events go on (X would only redeliver the same bytes).
      await recordIgnoredEvents(deps.db, unreadable.map((u) => ({ channel_id: channel.id, reason: 'unreadable_event', platform_event_id: u.key, payload: u.event })));
      deps.log.warn('x events unreadable', { channel_id: channel.id, problems: unreadable.map((u) => u.problem) });
    };
    const ignore = async (reason: string) => {
      // One row per DM event (a payload without DMs: one, keyed by its digest), so a redelivery records nothing new.
      const ids = events.length ? events.map((e) => e.id) : [createHash('sha256').update(raw).digest('hex').slice(0, 40)];
      await recordIgnoredEvents(deps.db, ids.map((id) => ({ channel_id: channel.id, reason, platform_event_id: id, payload })));
      deps.log.info('webhook ignored', { channel_id: channel.id, reason });
      ctx.body = { ok: true, ignored: reason };
    };
    if (!channel.is_active) {
      await setAsideUnreadable();
      return ignore('channel_inactive');
    }

    // One app webhook serves every account subscribed to the app: another account's events are
    // not this channel's. Without knowing the channel's own account that cannot be told, so
    // nothing is routed: 503, and X redelivers once the state is readable or the account known.
    const state = await readPlatformState(deps.db, channel.id).catch((err: unknown) => {
      throw new AppError(503, 'database_unavailable', "the channel's X account could not be read; retry later", undefined, err);
    });
    if (!state?.platform_account_id) {
      throw new AppError(503, 'channel_account_unknown', "the channel's X account is not known yet (its credentials are still being checked); retry later");
    }
    if (state.platform_account_id !== payload.for_user_id) return ignore('other_account');
    await setAsideUnreadable();

    let messages = 0;
    for (const e of events) {
      if (e.kind !== 'message') continue;
      await deps.signaller.inbound(conversationRef(channel, e.message.threadKey), e.message);
      messages++;
    }
    const echoes = events.filter((e) => e.kind === 'echo').length;
    const other = otherEventKinds(payload);
    if (echoes || other.length) deps.log.debug('x events not routed', { channel_id: channel.id, echoes, other });
    ctx.body = messages
      ? { ok: true, messages }
      : { ok: true, ignored: echoes ? 'own_messages' : unreadable.length ? 'unreadable_event' : 'event_kind_not_handled' };
  });

  return router;
}
