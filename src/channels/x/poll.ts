import { advanceInboundCursor, readPlatformState, recordPlatformAccount } from '../../db/channel-state';
import type { Db } from '../../db/knex';
import { PlatformError } from '../platform-error';
import type { InboundEvent, PollCapability, PollContext, PollPage } from '../types';
import { callXApi, whoAmI, type XRateLimit } from './api';
import type { XConfig } from './config';
import { compareXIds, DM_EVENTS_QUERY, dmEventsPageSchema, parseDmEventsPage, type XEventOutcome } from './inbound';

/** Events this much older than the channel still count: X's created_at has whole seconds, and clocks differ. */
const SINCE_MARGIN_MS = 60_000;
/** When X says 429 without a reset header (it always sends one; a proxy might not). */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;
/** X's reset is a whole second; asking exactly on it can still find the old window. */
const RESET_MARGIN_MS = 1_000;
/** Pages (100 DMs each) per activity call: a long walk is many short calls, each one's progress kept. */
export const PAGES_PER_CALL = 10;
/** Staged events read back at a time while handing on. */
const HAND_ON_BATCH = 200;

/**
 * X DMs by polling GET /2/dm_events (newest first): pages back until the cursor, staging
 * what is new in polled_inbound_events, then hands the staged events on oldest first, moving
 * the cursor after each. Only X's pagination token passes through Temporal; nothing that
 * grows with the backlog does (payloads are 2 MB at most).
 */
export const xPoll: PollCapability<XConfig> = {
  polls: (cfg) => cfg.inbound === 'polling',
  pausedMessage: (reason) => `polling X failed: ${reason}; update the channel's credentials`,
  sharesSendCredentials: true,

  async poll(cfg, ctx): Promise<PollPage> {
    const { db, channel } = ctx;
    let token = ctx.resume?.nextToken;
    try {
      let state = await readPlatformState(db, channel.id);
      if (!state?.platform_account_id) {
        // The setup workflow normally learned it; a poller racing ahead of it asks X itself.
        const me = await whoAmI(ctx.adapterContext.xApiBaseUrl, cfg);
        await recordPlatformAccount(db, channel.id, me.platformAccountId);
        state = await readPlatformState(db, channel.id);
      }
      const selfId = state!.platform_account_id!;
      const cursor = state!.inbound_cursor;
      const sinceMs = state!.inbound_since.getTime() - SINCE_MARGIN_MS;
      const isNew = (e: XEventOutcome) => (cursor ? compareXIds(e.id, cursor) > 0 : e.createdAt === undefined || Date.parse(e.createdAt) >= sinceMs);
      // Staged while the credentials acted for another account: not this account's DMs.
      await staging(db, channel.id).whereNot({ platform_account_id: selfId }).delete();

      let rateLimit: XRateLimit = {};
      for (let pages = 1; ; pages++) {
        const res = await callXApi<unknown>(ctx.adapterContext.xApiBaseUrl, cfg, {
          method: 'GET',
          path: '/2/dm_events',
          query: { ...DM_EVENTS_QUERY, max_results: '100', ...(token ? { pagination_token: token } : {}) },
          signal: ctx.signal,
        });
        rateLimit = res.rateLimit;
        ctx.heartbeat();
        const page = dmEventsPageSchema.parse(res.body);
        const { events, unreadable } = parseDmEventsPage(page, selfId);
        if (unreadable.length) {
          // Recorded once, and the poll goes on without them.
          await ctx.deliver(unreadable.map((u) => ({ kind: 'ignored', reason: 'unreadable_event', eventId: u.key, payload: u.event })));
          ctx.log.warn('x events unreadable', { channelId: channel.id, problems: unreadable.map((u) => u.problem) });
        }
        const fresh = events.filter(isNew);
        await stage(db, channel.id, selfId, fresh);
        const next = page.meta?.next_token;
        if (fresh.length < events.length || !next) break;
        if (rateLimit.remaining === 0 && rateLimit.resetAtMs) {
          // Mid-way back to the cursor with the window spent: the workflow sleeps and resumes here.
          return { outcome: 'rate_limited', notBeforeMs: rateLimit.resetAtMs + RESET_MARGIN_MS, resume: { nextToken: next } };
        }
        if (pages >= PAGES_PER_CALL) return { outcome: 'paging', handedOn: 0, resume: { nextToken: next } };
        token = next;
      }

      const handedOn = await handOnStaged(ctx, selfId, cursor);
      const notBeforeMs = rateLimit.remaining === 0 && rateLimit.resetAtMs ? rateLimit.resetAtMs + RESET_MARGIN_MS : undefined;
      return {
        outcome: 'polled',
        handedOn,
        ...(notBeforeMs ? { notBeforeMs } : {}),
        waitMs: Math.max(cfg.poll_interval_seconds * 1000, (notBeforeMs ?? 0) - Date.now()),
      };
    } catch (err) {
      // Resumed from the page that was refused, not from where this call began.
      if (err instanceof PlatformError && err.kind === 'rate_limited') {
        return { outcome: 'rate_limited', notBeforeMs: Date.now() + (err.details.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS) + RESET_MARGIN_MS, ...(token ? { resume: { nextToken: token } } : {}) };
      }
      throw err;
    }
  },
};

const staging = (db: Db, channelId: string) => db('polled_inbound_events').where({ channel_id: channelId });

/** New events of one page, kept until handed on; a page read again stages nothing twice. */
async function stage(db: Db, channelId: string, selfId: string, events: XEventOutcome[]): Promise<void> {
  if (events.length === 0) return;
  await db('polled_inbound_events')
    .insert(events.map((e) => ({ channel_id: channelId, platform_account_id: selfId, platform_event_id: e.id, event: JSON.stringify(e) })))
    .onConflict(['channel_id', 'platform_event_id'])
    .ignore();
}

/** Every staged event past the cursor, oldest first: handed on (messages), then the cursor moved past it. */
async function handOnStaged({ db, channel, deliver, heartbeat }: PollContext, selfId: string, cursor: string | null): Promise<number> {
  let after = cursor;
  let handedOn = 0;
  for (;;) {
    const rows: Array<{ event: XEventOutcome }> = await staging(db, channel.id)
      .andWhere({ platform_account_id: selfId })
      .modify((q) => {
        if (after) q.andWhereRaw('platform_event_id::numeric > ?::numeric', [after]);
      })
      .orderByRaw('platform_event_id::numeric')
      .limit(HAND_ON_BATCH)
      .select('event');
    if (rows.length === 0) break;
    for (const { event: e } of rows) {
      const event: InboundEvent = e.kind === 'message' ? { kind: 'message', message: e.message } : { kind: 'skipped', reason: e.kind === 'echo' ? 'own_message' : e.type };
      handedOn += (await deliver([event])).messages;
      await advanceInboundCursor(db, channel.id, e.id);
      after = e.id;
      heartbeat();
    }
  }
  // Behind the cursor now (a crash between moving it and this only leaves rows the next poll removes).
  if (after) await staging(db, channel.id).andWhereRaw('platform_event_id::numeric <= ?::numeric', [after]).delete();
  return handedOn;
}
