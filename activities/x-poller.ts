import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { openConfig } from '../src/channels/credentials';
import { PlatformError } from '../src/channels/platform-error';
import type { AdapterContext, ChannelType } from '../src/channels/types';
import { xAdapter } from '../src/channels/x/adapter';
import { callXApi, XRateLimit } from '../src/channels/x/api';
import { XConfig } from '../src/channels/x/config';
import { compareXIds, DM_EVENTS_QUERY, dmEventsPageSchema, parseDmEventsPage, UnreadableXEvent, XEventOutcome } from '../src/channels/x/inbound';
import type { SecretBox } from '../src/crypto/secret-box';
import { advanceInboundCursor, readPlatformState, recordPlatformAccount } from '../src/db/channel-state';
import { recordIgnoredEvents } from '../src/db/ignored-events';
import type { Db } from '../src/db/knex';
import { conversationSignaller } from '../src/temporal/conversations';
import { platformFailure } from './platform-failure';
import { conversationRef } from '../src/channels/types';

interface Deps {
  db: Db;
  secrets: SecretBox;
  adapterContext: AdapterContext;
  temporal?: Client;
}

/**
 * Where a page walk stopped (a spent rate-limit window, or enough pages for one call): X's
 * pagination token only. The events read so far are staged in polled_inbound_events, so
 * nothing that grows with the backlog passes through Temporal payloads (2 MB at most).
 */
export interface PollResume {
  nextToken: string;
}

export interface PollXInput {
  channelId: string;
  resume?: PollResume;
  /** The rate-limit window is spent until then: answer `rate_limited` without calling X. */
  notBeforeMs?: number;
}

/**
 * Every answer says when the poll ran and how long to wait before the next one, so the
 * workflow, which may read no clock, only sleeps what it is told.
 */
export type PollXResult = { polledAt: string; waitMs: number } & (
  | { outcome: 'stopped'; reason: 'channel_not_found' | 'channel_inactive' | 'not_polling' }
  | { outcome: 'paused'; reason: string }
  /** notBeforeMs: when to ask X again (its x-rate-limit-reset, with a margin); resumesAt is the same, for people. */
  | { outcome: 'rate_limited'; notBeforeMs: number; resumesAt: string; resume?: PollResume }
  /** PAGES_PER_CALL read and the walk not done: call again at once with `resume`. */
  | { outcome: 'paging'; resume: PollResume }
  | { outcome: 'polled'; handedOn: number; echoes: number; notBeforeMs?: number }
);

/** Events this much older than the channel still count: X's created_at has whole seconds, and clocks differ. */
const SINCE_MARGIN_MS = 60_000;
/** When X says 429 without a reset header (it always sends one; a proxy might not). */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;
const SIGNAL_TIMEOUT_MS = 10_000;
/** X's reset is a whole second; asking exactly on it can still find the old window. */
const RESET_MARGIN_MS = 1_000;
/** Pages (100 DMs each) per activity call: a long walk is many short calls, each one's progress kept. */
export const PAGES_PER_CALL = 10;
/** Staged events read back at a time while handing on. */
const HAND_ON_BATCH = 200;

/**
 * One poll of an X channel's DMs: pages GET /2/dm_events (newest first) back until the
 * cursor, staging what is new in the database, then hands the staged events on oldest
 * first, moving the cursor after each, so a crash at any point neither skips an event nor
 * hands one on twice (and a repeated signal would still be stored once: the X event id
 * keys the message).
 */
export function makeXPollerActivities({ db, secrets, adapterContext, temporal }: Deps) {
  async function pollXDirectMessages(input: PollXInput): Promise<PollXResult> {
    const polledAt = new Date().toISOString();
    const rateLimited = (notBeforeMs: number, resume: PollResume | undefined): PollXResult => ({
      outcome: 'rate_limited',
      notBeforeMs,
      resumesAt: new Date(notBeforeMs).toISOString(),
      ...(resume ? { resume } : {}),
      polledAt,
      waitMs: Math.max(1, notBeforeMs - Date.now()),
    });
    const ch = await db('channels').where({ id: input.channelId, type: 'x' }).first('id', 'account_id', 'type', 'is_active', 'config');
    if (!ch) return { outcome: 'stopped', reason: 'channel_not_found', polledAt, waitMs: 0 };
    if (!ch.is_active) return { outcome: 'stopped', reason: 'channel_inactive', polledAt, waitMs: 0 };
    const cfg = xAdapter.config.parse(openConfig(secrets, 'x', ch.config)) as XConfig;
    if (!xAdapter.poll!.polls(cfg)) return { outcome: 'stopped', reason: 'not_polling', polledAt, waitMs: 0 };
    if (input.notBeforeMs && Date.now() < input.notBeforeMs) return rateLimited(input.notBeforeMs, input.resume);
    if (!temporal) throw new Error('pollXDirectMessages needs a Temporal client to signal conversations');

    const ctx = Context.current();
    let token = input.resume?.nextToken;
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
      // Staged while the credentials acted for another account: not this account's DMs.
      await staging(ch.id).whereNot({ platform_account_id: selfId }).delete();

      let rateLimit: XRateLimit = {};
      for (let pages = 1; ; pages++) {
        const res = await callXApi<unknown>(adapterContext.xApiBaseUrl, cfg, {
          method: 'GET',
          path: '/2/dm_events',
          query: { ...DM_EVENTS_QUERY, max_results: '100', ...(token ? { pagination_token: token } : {}) },
          signal: ctx.cancellationSignal,
        });
        rateLimit = res.rateLimit;
        ctx.heartbeat();
        const page = dmEventsPageSchema.parse(res.body);
        const { events, unreadable } = parseDmEventsPage(page, selfId);
        await setAside(ch.id, unreadable);
        const fresh = events.filter(isNew);
        await stage(ch.id, selfId, fresh);
        const next = page.meta?.next_token;
        if (fresh.length < events.length || !next) break;
        if (rateLimit.remaining === 0 && rateLimit.resetAtMs) {
          // Mid-way back to the cursor with the window spent: the workflow sleeps and resumes here.
          return rateLimited(rateLimit.resetAtMs + RESET_MARGIN_MS, { nextToken: next });
        }
        if (pages >= PAGES_PER_CALL) return { outcome: 'paging', resume: { nextToken: next }, polledAt, waitMs: 0 };
        token = next;
      }

      const { handedOn, echoes } = await handOnStaged(ch, selfId, cursor);
      const notBeforeMs = rateLimit.remaining === 0 && rateLimit.resetAtMs ? rateLimit.resetAtMs + RESET_MARGIN_MS : undefined;
      return {
        outcome: 'polled',
        handedOn,
        echoes,
        ...(notBeforeMs ? { notBeforeMs } : {}),
        polledAt,
        waitMs: Math.max(cfg.poll_interval_seconds * 1000, (notBeforeMs ?? 0) - Date.now()),
      };
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      if (err.kind === 'rate_limited') {
        const notBeforeMs = Date.now() + (err.details.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS) + RESET_MARGIN_MS;
        return rateLimited(notBeforeMs, token ? { nextToken: token } : undefined);
      }
      if (err.kind === 'unavailable') {
        throw platformFailure(err);
      }
      // 401, or a refusal no retry can change: say so where the user looks, and wait for new credentials.
      await db('channels')
        .where({ id: ch.id })
        .update({ status: 'error', status_message: `polling X failed: ${err.message}; update the channel's credentials`, updated_at: db.fn.now() });
      return { outcome: 'paused', reason: err.message, polledAt, waitMs: 0 };
    }
  }

  const staging = (channelId: string) => db('polled_inbound_events').where({ channel_id: channelId });

  /** New events of one page, kept until handed on; a page read again stages nothing twice. */
  async function stage(channelId: string, selfId: string, events: XEventOutcome[]): Promise<void> {
    if (events.length === 0) return;
    await db('polled_inbound_events')
      .insert(events.map((e) => ({ channel_id: channelId, platform_account_id: selfId, platform_event_id: e.id, event: JSON.stringify(e) })))
      .onConflict(['channel_id', 'platform_event_id'])
      .ignore();
  }

  /** Events X sent that PingBack cannot read: recorded once, and the poll goes on without them. */
  async function setAside(channelId: string, unreadable: UnreadableXEvent[]): Promise<void> {
    if (unreadable.length === 0) return;
    await recordIgnoredEvents(db, unreadable.map((u) => ({ channel_id: channelId, reason: 'unreadable_event', platform_event_id: u.key, payload: u.event })));
    Context.current().log.warn('x events unreadable', { channelId, problems: unreadable.map((u) => u.problem) });
  }

  /** Every staged event past the cursor, oldest first: signalled (messages), then the cursor moved past it. */
  async function handOnStaged(ch: { id: string; account_id: string; type: ChannelType }, selfId: string, cursor: string | null) {
    const ctx = Context.current();
    const signaller = conversationSignaller(temporal!, ctx.info.taskQueue, SIGNAL_TIMEOUT_MS);
    let after = cursor;
    let handedOn = 0;
    let echoes = 0;
    for (;;) {
      const rows: Array<{ event: XEventOutcome }> = await staging(ch.id)
        .andWhere({ platform_account_id: selfId })
        .modify((q) => {
          if (after) q.andWhereRaw('platform_event_id::numeric > ?::numeric', [after]);
        })
        .orderByRaw('platform_event_id::numeric')
        .limit(HAND_ON_BATCH)
        .select('event');
      if (rows.length === 0) break;
      for (const { event: e } of rows) {
        if (e.kind === 'message') {
          const ref = conversationRef(ch, e.message.threadKey);
          await signaller.inbound(ref, e.message);
          handedOn++;
        } else if (e.kind === 'echo') echoes++;
        await advanceInboundCursor(db, ch.id, e.id);
        after = e.id;
        ctx.heartbeat();
      }
    }
    // Behind the cursor now (a crash between moving it and this only leaves rows the next poll removes).
    if (after) await staging(ch.id).andWhereRaw('platform_event_id::numeric <= ?::numeric', [after]).delete();
    return { handedOn, echoes };
  }

  return { pollXDirectMessages };
}
