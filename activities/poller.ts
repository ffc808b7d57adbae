import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { adapterFor } from '../src/channels';
import { openConfig } from '../src/channels/credentials';
import { requireReconnect } from '../src/db/channel-status';
import { PlatformError } from '../src/channels/platform-error';
import type { AdapterContext, PollPage, PollResume } from '../src/channels/types';
import type { SecretBox } from '../src/crypto/secret-box';
import type { Db } from '../src/db/knex';
import { deliverEvents } from '../src/inbound/deliver';
import { conversationSignaller } from '../src/temporal/conversations';
import type { ActivityDeps } from './index';
import { platformFailure } from './platform-failure';

type Deps = Pick<ActivityDeps, 'db' | 'secrets' | 'adapterContext' | 'temporal' | 'conversationQuietEndMs'>;

export interface PollChannelInput {
  channelId: string;
  resume?: PollResume;
  /** The platform's rate-limit window is spent until then: answer `rate_limited` without calling it. */
  notBeforeMs?: number;
}

/**
 * Every answer says when the poll ran and how long to wait before the next one, so the
 * workflow, which may read no clock, only sleeps what it is told.
 */
export type PollChannelResult = { polledAt: string; waitMs: number } & (
  | { outcome: 'stopped'; reason: 'channel_not_found' | 'channel_inactive' | 'not_polling' }
  /** The platform refused for good (a 401, a missing folder): wait for the channel's settings to change. */
  | { outcome: 'paused'; reason: string }
  /** resumesAt: notBeforeMs, for people (the workflow's state query). */
  | { outcome: 'rate_limited'; notBeforeMs: number; resumesAt: string; resume?: PollResume }
  | { outcome: 'paging'; handedOn: number; resume?: PollResume }
  | { outcome: 'polled'; handedOn: number; notBeforeMs?: number }
);

const SIGNAL_TIMEOUT_MS = 10_000;
/** When a platform says "rate limited" without saying for how long. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * One poll of a polling channel, whatever its type: the channel re-read (a poller ends once it
 * is off, gone or no longer polling), then its adapter's `poll`. A platform's failure decides
 * what the workflow does next: an outage is retried (the activity's retry policy), a rate
 * limit waited out, anything else pauses the poller with the platform's words on the channel.
 */
export function makePollerActivities({ db, secrets, adapterContext, temporal, conversationQuietEndMs }: Deps) {
  async function pollChannel(input: PollChannelInput): Promise<PollChannelResult> {
    const polledAt = new Date().toISOString();
    const rateLimited = (notBeforeMs: number, resume: PollResume | undefined): PollChannelResult => ({
      outcome: 'rate_limited',
      notBeforeMs,
      resumesAt: new Date(notBeforeMs).toISOString(),
      ...(resume ? { resume } : {}),
      polledAt,
      waitMs: Math.max(1, notBeforeMs - Date.now()),
    });
    const ch = await db('channels').where({ id: input.channelId }).first('id', 'account_id', 'type', 'is_active', 'config');
    if (!ch) return { outcome: 'stopped', reason: 'channel_not_found', polledAt, waitMs: 0 };
    if (!ch.is_active) return { outcome: 'stopped', reason: 'channel_inactive', polledAt, waitMs: 0 };
    const adapter = adapterFor(ch.type);
    const cfg = adapter.config.parse(openConfig(secrets, ch.type, ch.config, ch.id));
    if (!adapter.poll?.polls(cfg)) return { outcome: 'stopped', reason: 'not_polling', polledAt, waitMs: 0 };
    if (input.notBeforeMs && Date.now() < input.notBeforeMs) return rateLimited(input.notBeforeMs, input.resume);
    if (!temporal) throw new Error('pollChannel needs a Temporal client to signal conversations');

    const ctx = Context.current();
    const signaller = conversationSignaller(temporal, ctx.info.taskQueue, SIGNAL_TIMEOUT_MS, undefined, conversationQuietEndMs);
    const channel = { id: ch.id as string, account_id: ch.account_id as string, type: ch.type };
    let page: PollPage;
    try {
      page = await adapter.poll.poll(cfg, {
        channel,
        db,
        adapterContext,
        ...(input.resume ? { resume: input.resume } : {}),
        deliver: (events) => deliverEvents({ db, signaller }, channel, events),
        heartbeat: () => ctx.heartbeat(),
        signal: ctx.cancellationSignal,
        log: ctx.log,
      });
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      if (err.kind === 'rate_limited') return rateLimited(Date.now() + (err.details.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS), input.resume);
      if (err.retryable) throw platformFailure(err);
      // Say so where the user looks, and wait for new settings (the channel lifecycle wakes the poller).
      if (err.kind === 'auth' && adapter.poll.sharesSendCredentials) {
        if (await requireReconnect(db, ch.id, adapter.poll.pausedMessage(err.message), ch.config)) ctx.log.warn('channel needs reconnecting: the platform refused its credentials', { channel_id: ch.id, error: err.message });
      } else {
        // A channel already waiting for new credentials stays so: the mailbox's refusal is part of the same story.
        await db('channels').where({ id: ch.id }).whereNot({ status: 'reconnect_required' }).update({ status: 'error', status_message: adapter.poll.pausedMessage(err.message), updated_at: db.fn.now() });
      }
      return { outcome: 'paused', reason: err.message, polledAt, waitMs: 0 };
    }
    if (page.outcome === 'rate_limited') return rateLimited(page.notBeforeMs, page.resume);
    if (page.outcome === 'paging') return { ...page, polledAt, waitMs: 0 };
    return { ...page, polledAt };
  }

  return { pollChannel };
}
