import { createHash } from 'node:crypto';
import Router from '@koa/router';
import { safeEqual } from '../api/auth';
import type { AppDeps } from '../api/context';
import { openConfig } from '../channels/credentials';
import type { MetaWebhookEvent } from '../channels/meta/events';
import type { WebhookParse } from '../channels/meta/parse';
import { answerVerification, SIGNATURE_HEADER, verifyMetaSignature } from '../channels/meta/signature';
import { parseInstagramWebhook } from '../channels/instagram/webhook';
import { parseWhatsappWebhook } from '../channels/whatsapp/webhook';
import { isUuid } from '../db/ids';
import { AppError, notFound } from '../errors';
import { readRawBody } from '../http/body';

type MetaConfig = { app_secret?: string; phone_number_id?: string; page_id?: string; instagram_account_id?: string };

/** What differs between the two Meta channel types; everything else is shared. */
const PLATFORMS = {
  whatsapp: {
    parse: parseWhatsappWebhook,
    // `value.metadata.phone_number_id`: the business number the entry is for.
    owns: (cfg: MetaConfig, owner: string) => owner === cfg.phone_number_id,
  },
  instagram: {
    parse: parseInstagramWebhook,
    // `entry.id`: the Instagram professional account (equal to page_id only with Instagram Login).
    owns: (cfg: MetaConfig, owner: string) => owner === cfg.instagram_account_id || owner === cfg.page_id,
  },
} satisfies Record<string, { parse: (body: unknown) => WebhookParse; owns: (cfg: MetaConfig, owner: string) => boolean }>;

const digest = (text: string | Buffer) => createHash('sha256').update(text).digest('hex').slice(0, 40);

/**
 * WhatsApp and Instagram webhooks. Meta retries a non-200 for days, so: 200 only once
 * every message and status of the POST has been accepted by Temporal, 503 otherwise
 * (the redelivery is a no-op for what did get through: messages are keyed by their ids).
 */
export function metaIngress(deps: AppDeps): Router {
  const router = new Router();

  for (const type of ['whatsapp', 'instagram'] as const) {
    const platform = PLATFORMS[type];
    const findChannel = async (id: string) => {
      const channel = isUuid(id) ? await deps.channelLookup.get(id, type) : undefined;
      if (!channel) throw notFound('channel');
      return channel;
    };

    // The handshake Meta runs when the callback URL is saved in the App Dashboard.
    router.get(`/webhooks/${type}/:channelId`, async (ctx) => {
      const channel = await findChannel(ctx.params.channelId);
      const answer = answerVerification(ctx.query, (token) => safeEqual(token, channel.verify_token));
      if (!answer.ok) {
        throw new AppError(403, 'verification_failed', "hub.mode must be subscribe and hub.verify_token the channel's verify_token");
      }
      if (channel.is_active) {
        await deps.db('channels')
          .where({ id: channel.id })
          .update({ status: 'connected', status_message: 'callback URL verified by Meta', updated_at: deps.db.fn.now() });
      }
      deps.log.info('webhook verified', { channel_id: channel.id, type });
      ctx.type = 'text/plain';
      ctx.body = answer.challenge;
    });

    router.post(`/webhooks/${type}/:channelId`, async (ctx) => {
      const channel = await findChannel(ctx.params.channelId);
      const raw = await readRawBody(ctx);
      const cfg = openConfig(deps.secrets, type, channel.config) as MetaConfig;
      if (!verifyMetaSignature(raw, ctx.get(SIGNATURE_HEADER) || undefined, cfg.app_secret ?? '')) {
        throw new AppError(401, 'invalid_signature', `missing or wrong ${SIGNATURE_HEADER} header`);
      }
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new AppError(400, 'invalid_json', 'request body is not valid JSON');
      }
      const parsed = platform.parse(json);
      if (!parsed.ok) throw new AppError(400, 'invalid_payload', `body is not a ${type} webhook`, { fields: parsed.issues });

      const ignored: Array<{ channel_id: string; reason: string; platform_event_id: string; payload: string }> = [];
      const ignore = (reason: string, eventId: string | undefined, payload: unknown) =>
        ignored.push({ channel_id: channel.id, reason, platform_event_id: eventId ?? digest(JSON.stringify(payload)), payload: JSON.stringify(payload) });
      const recordIgnored = async () => {
        // ON CONFLICT DO NOTHING: a redelivered POST records nothing twice.
        if (ignored.length) await deps.db('ignored_events').insert(ignored).onConflict().ignore();
      };

      if (!channel.is_active) {
        // Acknowledged so Meta stops retrying; never routed into a conversation.
        ignore('channel_inactive', digest(raw), json);
        await recordIgnored();
        deps.log.info('webhook ignored: channel inactive', { channel_id: channel.id, type });
        ctx.body = { ok: true, ignored: 'channel_inactive' };
        return;
      }

      // Signals of one thread go in payload order; different threads go in parallel.
      const threads = new Map<string, MetaWebhookEvent[]>();
      for (const ev of parsed.events) {
        if (ev.kind === 'ignored') ignore(ev.reason, ev.eventId, ev.payload);
        else if (!platform.owns(cfg, ev.owner)) {
          // Meta sends one app's webhooks to one URL: another number or account of the same app lands here.
          ignore('not_for_this_channel', eventIdOf(ev), { owner: ev.owner, event: ev.kind === 'message' ? ev.message : ev.update });
        } else {
          const key = ev.kind === 'message' ? ev.message.threadKey : ev.threadKey;
          threads.set(key, [...(threads.get(key) ?? []), ev]);
        }
      }
      const counts = { messages: 0, statuses: 0 };
      const results = await Promise.allSettled(
        [...threads.entries()].map(async ([threadKey, events]) => {
          const ref = { accountId: channel.account_id, channelId: channel.id, channelType: type, threadKey };
          for (const ev of events) {
            if (ev.kind === 'message') {
              await deps.signaller.inbound(ref, ev.message);
              counts.messages++;
            } else if (ev.kind === 'status') {
              const outcome = await deps.signaller.messageStatus(ref, ev.update);
              if (outcome === 'no_conversation') ignore('unknown_message', eventIdOf(ev), ev.update);
              else counts.statuses++;
            }
          }
        }),
      );
      await recordIgnored();
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
      ctx.body = { ok: true, ...counts, ignored: ignored.length };
    });
  }

  return router;
}

function eventIdOf(ev: MetaWebhookEvent): string | undefined {
  if (ev.kind === 'message') return ev.message.platformMessageId;
  if (ev.kind === 'status') return `${ev.update.platformMessageId}:${ev.update.status}`;
  return ev.eventId;
}
