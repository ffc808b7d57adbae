import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { channelPollerWorkflow, pollerWakeSignal } from '../../workflows/channel-poller';
import { adapterFor } from '../channels';
import type { ChannelType } from '../channels/types';
import { inboundPollerWorkflowId } from './ids';

/**
 * A poller re-reads its channel on every poll and ends by itself once the channel is off,
 * gone or no longer polling, so the lifecycle only ever starts or wakes one, never kills it:
 * a kill racing a reactivation could leave an active channel without its poller. Channel
 * types that cannot poll (no `poll` in their adapter) have none to start or wake.
 */

/** Starts the channel's poller, or wakes the running one to poll now (new credentials, reactivated). */
export async function startOrWakePoller(client: Client, taskQueue: string, type: ChannelType, channelId: string): Promise<void> {
  if (!adapterFor(type).poll) return;
  await client.workflow.signalWithStart(channelPollerWorkflow, {
    workflowId: inboundPollerWorkflowId(type, channelId),
    taskQueue,
    args: [{ channelId }],
    signal: pollerWakeSignal,
    signalArgs: [],
  });
}

/** Wakes a running poller so it re-reads the channel (and ends if it should); none running is fine. */
export async function wakePoller(client: Client, type: ChannelType, channelId: string): Promise<void> {
  if (!adapterFor(type).poll) return;
  try {
    await client.workflow.getHandle(inboundPollerWorkflowId(type, channelId)).signal(pollerWakeSignal);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}
