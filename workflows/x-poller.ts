import { condition, continueAsNew, defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { pollerWakeSignal } from './poller-wake';
import type { Activities } from '../activities';
import type { PollResume, PollXResult } from '../activities/x-poller';

const { pollXDirectMessages } = proxyActivities<Activities>({
  // Paging back through a long absence can take a while; heartbeats show it is alive,
  // and let a retry start soon after a worker dies mid-poll.
  startToCloseTimeout: '5m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 8 },
});

export interface XPollerInput {
  channelId: string;
  /** Carried across continue-as-new. */
  notBeforeMs?: number;
  resume?: PollResume;
  /** Continue-as-new past this many history events (Temporal may suggest it earlier). */
  maxHistoryEvents?: number;
}

export interface XPollerState {
  channelId: string;
  state: 'polling' | 'waiting' | 'rate_limited' | 'paused';
  lastPolledAt: string | null;
  /** While rate_limited: when X's window refills. */
  resumesAt: string | null;
  /** While paused: X's reason. */
  pausedFor: string | null;
  handedOn: number;
}

export const xPollerStateQuery = defineQuery<XPollerState>('state');

const DEFAULT_MAX_HISTORY_EVENTS = 5_000;
/** After an outage outlasted the activity's retries: try again after this long. */
const OUTAGE_PAUSE_MS = 60_000;

/**
 * One per active X channel polling for DMs (`x-poller/<channel id>`). The cursor, and the
 * events of a walk not yet handed on, are in the database (the activity keeps them), so
 * this workflow keeps only X's pagination token where a walk stopped, and sleeps what the
 * activity tells it (it reads no clock). It ends by itself once the channel is off, gone
 * or on webhooks; the channel lifecycle starts it (signal-with-start of `wake`) and wakes
 * it to re-check.
 */
export async function xPollerWorkflow(input: XPollerInput): Promise<void> {
  let wakes = 0;
  let resume = input.resume;
  let notBeforeMs = input.notBeforeMs;
  const view: XPollerState = { channelId: input.channelId, state: 'polling', lastPolledAt: null, resumesAt: null, pausedFor: null, handedOn: 0 };
  setHandler(pollerWakeSignal, () => void wakes++);
  setHandler(xPollerStateQuery, () => ({ ...view }));

  for (;;) {
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > (input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS)) {
      // Between polls nothing is in flight; the new run polls first, which is also what a wake asks for.
      await continueAsNew<typeof xPollerWorkflow>({ ...input, notBeforeMs, resume });
    }
    const seen = wakes;
    view.state = 'polling';
    let r: PollXResult;
    try {
      r = await pollXDirectMessages({ channelId: input.channelId, resume, notBeforeMs });
    } catch {
      // X or the database still down after the retries: nothing was skipped (the cursor did not move).
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
    if (r.outcome === 'paging') {
      // A long walk back, in several calls: go on at once.
      resume = r.resume;
      continue;
    }
    if (r.outcome === 'rate_limited') {
      resume = r.resume;
      notBeforeMs = r.notBeforeMs;
      Object.assign(view, { state: 'rate_limited', resumesAt: r.resumesAt });
      // A wake only lets the activity check whether to stop; it will not call X before the reset.
      await condition(() => wakes !== seen, r.waitMs);
      continue;
    }
    resume = undefined;
    notBeforeMs = r.notBeforeMs;
    view.handedOn += r.handedOn;
    Object.assign(view, { state: 'waiting', resumesAt: null });
    await condition(() => wakes !== seen, r.waitMs);
  }
}
