import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { emailPollerWorkflow } from '../../workflows/email-poller';
import { pollerWakeSignal } from '../../workflows/poller-wake';
import type { ChannelType } from '../channels/types';
import { xPollerWorkflow } from '../../workflows/x-poller';
import { inboundPollerWorkflowId } from './ids';

/**
 * Channel types whose inbound is polled (X DMs, email by IMAP), and their poller workflow. A poller re-reads
 * its channel on every poll and ends by itself once the channel is off, gone or no
 * longer polling, so the lifecycle only ever starts or wakes one, never kills it: a
 * kill racing a reactivation could leave an active channel without its poller.
 */
const POLLERS: Partial<Record<ChannelType, (input: { channelId: string }) => Promise<void>>> = {
  x: xPollerWorkflow,
  email: emailPollerWorkflow,
};

/** Starts the channel's poller, or wakes the running one to poll now (new credentials, reactivated). */
export async function startOrWakePoller(client: Client, taskQueue: string, type: ChannelType, channelId: string): Promise<void> {
  const poller = POLLERS[type];
  if (!poller) return;
  await client.workflow.signalWithStart(poller, {
    workflowId: inboundPollerWorkflowId(type, channelId),
    taskQueue,
    args: [{ channelId }],
    signal: pollerWakeSignal,
    signalArgs: [],
  });
}

/** Wakes a running poller so it re-reads the channel (and ends if it should); none running is fine. */
export async function wakePoller(client: Client, type: ChannelType, channelId: string): Promise<void> {
  const poller = POLLERS[type];
  if (!poller) return;
  try {
    await client.workflow.getHandle(inboundPollerWorkflowId(type, channelId)).signal(pollerWakeSignal);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}
