import { condition, continueAsNew, defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { pollerWakeSignal } from './poller-wake';
import type { Activities } from '../activities';
import type { PollEmailResult } from '../activities/email-poller';

const { pollEmailInbox } = proxyActivities<Activities>({
  // A batch of large mails over a slow link takes a while; heartbeats show it is alive.
  startToCloseTimeout: '5m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 8 },
});

export interface EmailPollerInput {
  channelId: string;
  /** Continue-as-new past this many history events (Temporal may suggest it earlier). */
  maxHistoryEvents?: number;
}

export interface EmailPollerState {
  channelId: string;
  state: 'polling' | 'waiting' | 'paused';
  lastPolledAt: string | null;
  /** While paused: the mail server's reason. */
  pausedFor: string | null;
  handedOn: number;
}

export const emailPollerStateQuery = defineQuery<EmailPollerState>('state');

const DEFAULT_MAX_HISTORY_EVENTS = 5_000;
/** After an outage outlasted the activity's retries: try again after this long. */
const OUTAGE_PAUSE_MS = 60_000;

/**
 * One per active email channel reading an IMAP mailbox (`email-poller/<channel id>`). The
 * cursor is in the database, so this workflow keeps nothing across polls but its view for
 * the state query; it sleeps what the activity says, and ends once the channel is off,
 * gone or on webhook inbound. The channel lifecycle starts it and wakes it to re-check.
 */
export async function emailPollerWorkflow(input: EmailPollerInput): Promise<void> {
  let wakes = 0;
  const view: EmailPollerState = { channelId: input.channelId, state: 'polling', lastPolledAt: null, pausedFor: null, handedOn: 0 };
  setHandler(pollerWakeSignal, () => void wakes++);
  setHandler(emailPollerStateQuery, () => ({ ...view }));

  for (;;) {
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > (input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS)) {
      await continueAsNew<typeof emailPollerWorkflow>(input);
    }
    const seen = wakes;
    view.state = 'polling';
    let r: PollEmailResult;
    try {
      r = await pollEmailInbox({ channelId: input.channelId });
    } catch {
      // The server (or the database) still down after the retries: the cursor did not move.
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
    view.handedOn += r.handedOn;
    if (r.outcome === 'more') continue;
    view.state = 'waiting';
    await condition(() => wakes !== seen, r.waitMs);
  }
}
