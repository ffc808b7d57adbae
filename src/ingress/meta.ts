import { createHash } from 'node:crypto';
import Router from '@koa/router';
import { safeEqual } from '../crypto/safe-equal';
import type { AppDeps } from '../api/context';
import { openConfig } from '../channels/credentials';
import type { MetaWebhookEvent } from '../channels/meta/events';
import { answerVerification, SIGNATURE_HEADER, verifyMetaSignature } from '../channels/meta/signature';
import { instagramEnvelope, instagramEvents } from '../channels/instagram/webhook';
import { whatsappEnvelope, whatsappEvents } from '../channels/whatsapp/webhook';
import { type IgnoredEvent, recordIgnoredEvents } from '../db/ignored-events';
import { AppError } from '../errors';
import { parseJson, parsePlatformPayload, readRawBody } from '../http/body';
import { conversationRef } from '../channels/types';

type MetaConfig = { app_secret?: string; phone_number_id?: string; page_id?: string; instagram_account_id?: string };

/**
 * What differs between the two Meta channel types; everything else is shared. `parse`
 * refuses (400) only a body whose envelope is not the platform's; an item inside it
 * that cannot be read comes back as an `unparseable` ignored event.
 */
const PLATFORMS = {
  whatsapp: {
    parse: (json: unknown) => whatsappEvents(parsePlatformPayload(whatsappEnvelope, json, 'invalid_payload', 'a WhatsApp webhook')),
    // `value.metadata.phone_number_id`: the business number the entry is for.
    owns: (cfg: MetaConfig, owner: string) => owner === cfg.phone_number_id,
  },
  instagram: {
    parse: (json: unknown) => instagramEvents(parsePlatformPayload(instagramEnvelope, json, 'invalid_payload', 'an Instagram webhook')),
    // `entry.id`: the Instagram professional account (equal to page_id only with Instagram Login).
    owns: (cfg: MetaConfig, owner: string) => owner === cfg.instagram_account_id || owner === cfg.page_id,
  },
} satisfies Record<string, { parse: (json: unknown) => MetaWebhookEvent[]; owns: (cfg: MetaConfig, owner: string) => boolean }>;

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

    // The handshake Meta runs when the callback URL is saved in the App Dashboard.
    router.get(`/webhooks/${type}/:channelId`, async (ctx) => {
      const channel = await deps.channelLookup.require(ctx.params.channelId, type);
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
      const channel = await deps.channelLookup.require(ctx.params.channelId, type);
      const raw = await readRawBody(ctx);
      const cfg = openConfig(deps.secrets, type, channel.config) as MetaConfig;
      if (!verifyMetaSignature(raw, ctx.get(SIGNATURE_HEADER) || undefined, cfg.app_secret ?? '')) {
        throw new AppError(401, 'invalid_signature', `missing or wrong ${SIGNATURE_HEADER} header`);
      }
      const json = parseJson(raw);
      const events = platform.parse(json);
      const unreadable = events.filter((ev) => ev.kind === 'ignored' && ev.reason === 'unparseable').length;
      // Acknowledged all the same (see parseItem); someone should look at what Meta sent.
      if (unreadable) deps.log.warn('webhook items unparseable, kept in ignored_events', { channel_id: channel.id, type, count: unreadable });

      const ignored: IgnoredEvent[] = [];
      const ignore = (reason: string, eventId: string | undefined, payload: unknown) =>
        ignored.push({ channel_id: channel.id, reason, platform_event_id: eventId ?? digest(JSON.stringify(payload)), payload });
      const recordIgnored = () => recordIgnoredEvents(deps.db, ignored);

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
      for (const ev of events) {
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
          const ref = conversationRef(channel, threadKey);
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
