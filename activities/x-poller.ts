import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { openConfig } from '../src/channels/credentials';
import { FAILURE_TYPES, PlatformError } from '../src/channels/platform-error';
import type { AdapterContext } from '../src/channels/types';
import { xAdapter } from '../src/channels/x/adapter';
import { callXApi, XRateLimit } from '../src/channels/x/api';
import { XConfig } from '../src/channels/x/config';
import { compareXIds, DM_EVENTS_QUERY, dmEventsPageSchema, parseDmEventsPage, XEventOutcome } from '../src/channels/x/inbound';
import type { SecretBox } from '../src/crypto/secret-box';
import { advanceInboundCursor, readPlatformState, recordPlatformAccount } from '../src/db/channel-state';
import type { Db } from '../src/db/knex';
import { conversationSignaller } from '../src/temporal/conversations';

interface Deps {
  db: Db;
  secrets: SecretBox;
  adapterContext: AdapterContext;
  temporal?: Client;
}

/** Paging interrupted by a spent rate-limit window: where to go on, and what was already read (newest first). */
export interface PollResume {
  nextToken: string;
  collected: XEventOutcome[];
}

export interface PollXInput {
  channelId: string;
  resume?: PollResume;
  /** The rate-limit window is spent until then: answer `rate_limited` without calling X. */
  notBeforeMs?: number;
}

export type PollXResult =
  | { outcome: 'stopped'; reason: 'channel_not_found' | 'channel_inactive' | 'not_polling' }
  | { outcome: 'paused'; reason: string }
  /** resetAtMs: when to ask X again (its x-rate-limit-reset, with a margin). */
  | { outcome: 'rate_limited'; resetAtMs: number; resume?: PollResume }
  | { outcome: 'polled'; handedOn: number; echoes: number; intervalMs: number; notBeforeMs?: number };

/** Events this much older than the channel still count: X's created_at has whole seconds, and clocks differ. */
const SINCE_MARGIN_MS = 60_000;
/** When X says 429 without a reset header (it always sends one; a proxy might not). */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;
const SIGNAL_TIMEOUT_MS = 10_000;
/** X's reset is a whole second; asking exactly on it can still find the old window. */
const RESET_MARGIN_MS = 1_000;

/**
 * One poll of an X channel's DMs: pages GET /2/dm_events (newest first) back until the
 * cursor, then hands the new events on oldest first, moving the cursor after each, so a
 * crash at any point neither skips an event nor hands one on twice (and a repeated signal
 * would still be stored once: the X event id keys the message).
 */
export function makeXPollerActivities({ db, secrets, adapterContext, temporal }: Deps) {
  async function pollXDirectMessages(input: PollXInput): Promise<PollXResult> {
    const ch = await db('channels').where({ id: input.channelId, type: 'x' }).first('id', 'account_id', 'is_active', 'config');
    if (!ch) return { outcome: 'stopped', reason: 'channel_not_found' };
    if (!ch.is_active) return { outcome: 'stopped', reason: 'channel_inactive' };
    const cfg = xAdapter.config.parse(openConfig(secrets, 'x', ch.config)) as XConfig;
    if (!xAdapter.pollsInbound!(cfg)) return { outcome: 'stopped', reason: 'not_polling' };
    if (input.notBeforeMs && Date.now() < input.notBeforeMs) return { outcome: 'rate_limited', resetAtMs: input.notBeforeMs, resume: input.resume };
    if (!temporal) throw new Error('pollXDirectMessages needs a Temporal client to signal conversations');

    const ctx = Context.current();
    let token = input.resume?.nextToken;
    const collected: XEventOutcome[] = [...(input.resume?.collected ?? [])];
    try {
      let state = await readPlatformState(db, ch.id);
      if (!state?.platform_account_id) {
        // The setup workflow normally learned it; a poller racing ahead of it asks X itself.
        const me = await xAdapter.checkCredentials!(cfg, adapterContext);
        await recordPlatformAccount(db, ch.id, me.platformAccountId);
        state = await readPlatformState(db, ch.id);
      }
      const selfId = state!.platform_account_id!;
      const cursor = state!.inbound_cursor;
      const sinceMs = state!.inbound_since.getTime() - SINCE_MARGIN_MS;
      const isNew = (e: XEventOutcome) =>
        cursor ? compareXIds(e.id, cursor) > 0 : e.createdAt === undefined || Date.parse(e.createdAt) >= sinceMs;

      let rateLimit: XRateLimit = {};
      for (;;) {
        const res = await callXApi<unknown>(adapterContext.xApiBaseUrl, cfg, {
          method: 'GET',
          path: '/2/dm_events',
          query: { ...DM_EVENTS_QUERY, max_results: '100', ...(token ? { pagination_token: token } : {}) },
          signal: ctx.cancellationSignal,
        });
        rateLimit = res.rateLimit;
        ctx.heartbeat();
        const page = dmEventsPageSchema.parse(res.body);
        const events = parseDmEventsPage(page, selfId);
        const fresh = events.filter(isNew);
        // Deduplicated by id: a page boundary can shift while new DMs arrive between requests.
        for (const e of fresh) if (!collected.some((c) => c.id === e.id)) collected.push(e);
        const next = page.meta?.next_token;
        if (fresh.length < events.length || !next) break;
        if (rateLimit.remaining === 0 && rateLimit.resetAtMs) {
          // Mid-way back to the cursor with the window spent: the workflow sleeps and resumes here.
          return { outcome: 'rate_limited', resetAtMs: rateLimit.resetAtMs + RESET_MARGIN_MS, resume: { nextToken: next, collected } };
        }
        token = next;
      }

      const signaller = conversationSignaller(temporal, ctx.info.taskQueue, SIGNAL_TIMEOUT_MS);
      const oldestFirst = collected.sort((a, b) => compareXIds(a.id, b.id));
      let handedOn = 0;
      for (const e of oldestFirst) {
        if (e.kind === 'message') {
          const ref = { accountId: ch.account_id, channelId: ch.id, channelType: 'x' as const, threadKey: e.message.threadKey };
          await signaller.inbound(ref, e.message);
          handedOn++;
        }
        await advanceInboundCursor(db, ch.id, e.id);
        ctx.heartbeat();
      }
      const spent = rateLimit.remaining === 0 && rateLimit.resetAtMs ? rateLimit.resetAtMs + RESET_MARGIN_MS : undefined;
      return {
        outcome: 'polled',
        handedOn,
        echoes: oldestFirst.filter((e) => e.kind === 'echo').length,
        intervalMs: cfg.poll_interval_seconds * 1000,
        notBeforeMs: spent,
      };
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      if (err.kind === 'rate_limited') {
        const resetAtMs = Date.now() + (err.details.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS) + RESET_MARGIN_MS;
        return { outcome: 'rate_limited', resetAtMs, resume: token ? { nextToken: token, collected } : undefined };
      }
      if (err.kind === 'unavailable') {
        throw ApplicationFailure.create({ message: err.message, type: FAILURE_TYPES[err.kind], details: [err.details] });
      }
      // 401, or a refusal no retry can change: say so where the user looks, and wait for new credentials.
      await db('channels')
        .where({ id: ch.id })
        .update({ status: 'error', status_message: `polling X failed: ${err.message}; update the channel's credentials`, updated_at: db.fn.now() });
      return { outcome: 'paused', reason: err.message };
    }
  }

  return { pollXDirectMessages };
}
