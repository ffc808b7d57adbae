import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { AppDeps } from '../api/context';
import { openConfig } from '../channels/credentials';
import { accountActivitySchema, otherEventKinds, parseAccountActivity } from '../channels/x/inbound';
import { crcResponseToken, SIGNATURE_HEADER, verifyWebhookSignature } from '../channels/x/webhook';
import { readPlatformState } from '../db/channel-state';
import { isUuid } from '../db/ids';
import { AppError, notFound } from '../errors';
import { readRawBody } from '../http/body';

type XSecrets = { api_secret?: string };

/**
 * X's Account Activity webhook. X runs a CRC check (GET) when the webhook is registered
 * and then hourly; a failed one stops deliveries. Deliveries (POST) are answered 200 only
 * once Temporal holds every DM they carry, 503 otherwise; a DM that also arrives by
 * polling, or again, is stored once (the X event id keys it).
 */
export function xIngress(deps: AppDeps): Router {
  const router = new Router();

  const findChannel = async (id: string) => {
    const channel = isUuid(id) ? await deps.channelLookup.get(id, 'x') : undefined;
    if (!channel) throw notFound('channel');
    return channel;
  };

  router.get('/webhooks/x/:channelId', async (ctx) => {
    const channel = await findChannel(ctx.params.channelId);
    const token = typeof ctx.query.crc_token === 'string' ? ctx.query.crc_token : '';
    if (!token) throw new AppError(400, 'missing_crc_token', 'crc_token query parameter is required');
    const { api_secret } = openConfig(deps.secrets, 'x', channel.config) as XSecrets;
    if (!api_secret) {
      throw new AppError(400, 'missing_consumer_secret', "the channel has no api_secret (consumer secret) to answer X's CRC check with; add it to the channel's config");
    }
    deps.log.info('x crc check answered', { channel_id: channel.id });
    ctx.body = { response_token: crcResponseToken(api_secret, token) };
  });

  router.post('/webhooks/x/:channelId', async (ctx) => {
    const channel = await findChannel(ctx.params.channelId);
    const raw = await readRawBody(ctx);
    const { api_secret } = openConfig(deps.secrets, 'x', channel.config) as XSecrets;
    if (!api_secret || !verifyWebhookSignature(api_secret, raw, ctx.get(SIGNATURE_HEADER) || undefined)) {
      throw new AppError(401, 'invalid_signature', `missing or wrong ${SIGNATURE_HEADER} header`);
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new AppError(400, 'invalid_json', 'request body is not valid JSON');
    }
    const parsed = accountActivitySchema.safeParse(json);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw new AppError(400, 'invalid_payload', 'body is not an Account Activity event', { fields });
    }
    const payload = parsed.data;
    const events = parseAccountActivity(payload);

    const ignore = async (reason: string) => {
      // One row per DM event (a payload without DMs: one, keyed by its digest), so a redelivery records nothing new.
      const ids = events.length ? events.map((e) => e.id) : [createHash('sha256').update(raw).digest('hex').slice(0, 40)];
      await deps
        .db('ignored_events')
        .insert(ids.map((id) => ({ channel_id: channel.id, reason, platform_event_id: id, payload: JSON.stringify(payload) })))
        .onConflict(['channel_id', 'reason', 'platform_event_id'])
        .ignore();
      deps.log.info('webhook ignored', { channel_id: channel.id, reason });
      ctx.body = { ok: true, ignored: reason };
    };
    if (!channel.is_active) return ignore('channel_inactive');
    // One app webhook serves every account subscribed to the app: another account's events are not this channel's.
    const state = await readPlatformState(deps.db, channel.id).catch(() => undefined);
    if (state?.platform_account_id && state.platform_account_id !== payload.for_user_id) return ignore('other_account');

    let messages = 0;
    for (const e of events) {
      if (e.kind !== 'message') continue;
      await deps.signaller.inbound({ accountId: channel.account_id, channelId: channel.id, channelType: 'x', threadKey: e.message.threadKey }, e.message);
      messages++;
    }
    const echoes = events.filter((e) => e.kind === 'echo').length;
    const other = otherEventKinds(payload);
    if (echoes || other.length) deps.log.debug('x events not routed', { channel_id: channel.id, echoes, other });
    ctx.body = messages ? { ok: true, messages } : { ok: true, ignored: echoes ? 'own_messages' : 'event_kind_not_handled' };
  });

  return router;
}
