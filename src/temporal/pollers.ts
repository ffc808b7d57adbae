import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { channelPollerWorkflow, pollerWakeSignal } from '../../workflows/channel-poller';
import { adapterFor } from '../channels';
import { openConfig } from '../channels/credentials';
import { CHANNEL_TYPES, type ChannelType } from '../channels/types';
import type { SecretBox } from '../crypto/secret-box';
import type { Db } from '../db/knex';
import { inboundPollerWorkflowId } from './ids';

/**
 * Starts the channel's poller, or wakes the running one to poll now (new credentials,
 * reactivated). A poller re-reads its channel on every poll and ends by itself once the
 * channel is off, gone or no longer polling, so the lifecycle only ever starts or wakes one,
 * never kills it: a kill racing a reactivation could leave an active channel without its
 * poller. Channel types that cannot poll (no `poll` in their adapter) have none.
 */
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

/**
 * Makes sure every active channel that polls has a poller running, of this version's workflow
 * type; the worker runs it at start. A poller an operator terminated is started again, and one
 * of a type this worker no longer runs (xPollerWorkflow and emailPollerWorkflow, before one
 * poller served every channel type) is terminated and replaced. Cursors are in PostgreSQL, so
 * the new one goes on where the old one stopped. A running poller of today's type is left
 * alone (waking every one at every start would be a burst of polls).
 */
export async function reconcilePollers(
  deps: { client: Client; db: Db; secrets: SecretBox },
  taskQueue: string,
  /** One account's channels only (tests share a database). */
  only: { accountId?: string } = {},
): Promise<{ started: string[]; replaced: string[] }> {
  const polledTypes = CHANNEL_TYPES.filter((t) => adapterFor(t).poll);
  const channels: Array<{ id: string; type: ChannelType; config: Record<string, unknown> }> = await deps
    .db('channels')
    .where({ is_active: true, ...(only.accountId ? { account_id: only.accountId } : {}) })
    .whereIn('type', polledTypes)
    .select('id', 'type', 'config');
  const started: string[] = [];
  const replaced: string[] = [];
  for (const ch of channels) {
    const adapter = adapterFor(ch.type);
    const cfg = adapter.config.safeParse(openConfig(deps.secrets, ch.type, ch.config));
    if (!cfg.success || !adapter.poll?.polls(cfg.data)) continue;
    const handle = deps.client.workflow.getHandle(inboundPollerWorkflowId(ch.type, ch.id));
    const running = await handle.describe().then(
      (d) => (d.status.name === 'RUNNING' ? d.type : undefined),
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      },
    );
    if (running === channelPollerWorkflow.name) continue;
    if (running) {
      await handle.terminate(`replaced by ${channelPollerWorkflow.name}`);
      replaced.push(ch.id);
    } else {
      started.push(ch.id);
    }
    await startOrWakePoller(deps.client, taskQueue, ch.type, ch.id);
  }
  return { started, replaced };
}
