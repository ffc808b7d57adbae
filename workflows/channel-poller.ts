import { condition, continueAsNew, defineQuery, defineSignal, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PollChannelResult } from '../activities/poller';
import type { PollResume } from '../src/channels/types';

const { pollChannel } = proxyActivities<Activities>({
  // Paging back through a long absence, or a batch of large mails over a slow link, takes a
  // while; heartbeats (after each X page, every 10 s of an IMAP session) show it is alive, and
  // a worker that dies mid-poll is noticed within the heartbeat timeout and the poll retried.
  startToCloseTimeout: '5m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 8 },
});

/**
 * Tells a poller to re-read its channel now: credentials or settings changed, switched off or
 * on, switched to webhooks. The channel lifecycle wakes every poller the same way.
 */
export const pollerWakeSignal = defineSignal('wake');

export interface ChannelPollerInput {
  channelId: string;
  /** Carried across continue-as-new: where a walk through the platform's feed stopped, and its rate-limit window. */
  notBeforeMs?: number;
  resume?: PollResume;
  /** Continue-as-new past this many history events (Temporal may suggest it earlier). */
  maxHistoryEvents?: number;
}

export interface ChannelPollerState {
  channelId: string;
  state: 'polling' | 'waiting' | 'rate_limited' | 'paused';
  lastPolledAt: string | null;
  /** While rate_limited: when the platform's window refills. */
  resumesAt: string | null;
  /** While paused: the platform's reason. */
  pausedFor: string | null;
  handedOn: number;
}

export const pollerStateQuery = defineQuery<ChannelPollerState>('state');

const DEFAULT_MAX_HISTORY_EVENTS = 5_000;
/** After an outage outlasted the activity's retries: try again after this long. */
const OUTAGE_PAUSE_MS = 60_000;

/**
 * One per active channel that polls its platform (`<type>-poller/<channel id>`: X DMs, an IMAP
 * mailbox). Cursors and staged events are in the database (the adapter's poll keeps them), so
 * this workflow keeps only the platform's pagination token where a walk stopped, and sleeps
 * what the activity tells it (it reads no clock). It ends by itself once the channel is off,
 * gone or no longer polling; the channel lifecycle starts it (signal-with-start of `wake`)
 * and wakes it to re-check, never kills it: a kill racing a reactivation could leave an
 * active channel without its poller.
 */
export async function channelPollerWorkflow(input: ChannelPollerInput): Promise<void> {
  let wakes = 0;
  let resume = input.resume;
  let notBeforeMs = input.notBeforeMs;
  const view: ChannelPollerState = { channelId: input.channelId, state: 'polling', lastPolledAt: null, resumesAt: null, pausedFor: null, handedOn: 0 };
  setHandler(pollerWakeSignal, () => void wakes++);
  setHandler(pollerStateQuery, () => ({ ...view }));

  for (;;) {
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > (input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS)) {
      // Between polls nothing is in flight; the new run polls first, which is also what a wake asks for.
      await continueAsNew<typeof channelPollerWorkflow>({ ...input, notBeforeMs, resume });
    }
    const seen = wakes;
    view.state = 'polling';
    let r: PollChannelResult;
    try {
      r = await pollChannel({ channelId: input.channelId, ...(resume ? { resume } : {}), ...(notBeforeMs ? { notBeforeMs } : {}) });
    } catch {
      // The platform (or the database) still down after the retries: nothing was skipped (the cursor did not move).
      view.state = 'waiting';
      await condition(() => wakes !== seen, OUTAGE_PAUSE_MS);
      continue;
    }
    view.lastPolledAt = r.polledAt;
    if (r.outcome === 'stopped') {
      // A wake during the check may mean "switched back on": look again before ending.
      if (wakes === seen) return;
      continue;
    }
    if (r.outcome === 'paused') {
      Object.assign(view, { state: 'paused', pausedFor: r.reason });
      await condition(() => wakes !== seen);
      view.pausedFor = null;
      continue;
    }
    if (r.outcome === 'rate_limited') {
      resume = r.resume;
      notBeforeMs = r.notBeforeMs;
      Object.assign(view, { state: 'rate_limited', resumesAt: r.resumesAt });
      // A wake only lets the activity check whether to stop; it will not call the platform before the reset.
      await condition(() => wakes !== seen, r.waitMs);
      continue;
    }
    view.handedOn += r.handedOn;
    if (r.outcome === 'paging') {
      // A long walk back or a backlog, in several calls: go on at once.
      resume = r.resume;
      continue;
    }
    resume = undefined;
    notBeforeMs = r.notBeforeMs;
    Object.assign(view, { state: 'waiting', resumesAt: null });
    await condition(() => wakes !== seen, r.waitMs);
  }
}
