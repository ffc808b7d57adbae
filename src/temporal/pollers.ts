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

/** The poller workflow types of earlier versions, which this worker no longer runs. */
const RETIRED_POLLER_TYPES = ['xPollerWorkflow', 'emailPollerWorkflow'];

/**
 * Makes sure every polling channel's poller is of this version's workflow type and running;
 * the worker runs it at start, in the background. Runs of a type this worker no longer runs
 * (before one poller served every channel type) are terminated, by their run id, so a
 * replica doing the same at the same moment cannot end the new run; a connected channel
 * that polls and has no poller (one an operator ended, or one just terminated) gets one. Two
 * visibility queries find both, so the calls grow with the pollers that need attention, not
 * with the channels (beyond one read of them). Cursors are in PostgreSQL: a new poller goes on where the old one stopped.
 * One channel that cannot be read (a config sealed with a key that was dropped) is skipped.
 */
export async function reconcilePollers(
  deps: { client: Client; db: Db; secrets: SecretBox; log?: { warn(message: string, fields?: Record<string, unknown>): void } },
  taskQueue: string,
  /** One account's channels only (tests share a database and a namespace). */
  only: { accountId?: string } = {},
  /** Checked between channels: the worker is stopping. */
  stopped: () => boolean = () => false,
): Promise<{ started: string[]; replaced: string[] }> {
  const polledTypes = CHANNEL_TYPES.filter((t) => adapterFor(t).poll);
  const idOf = new Map<string, { id: string; type: ChannelType }>();
  const rows: Array<{ id: string; type: ChannelType; is_active: boolean; status: string; config: Record<string, unknown> }> = await deps
    .db('channels')
    .whereIn('type', polledTypes)
    .modify((q) => {
      if (only.accountId) q.where({ account_id: only.accountId });
    })
    .select('id', 'type', 'is_active', 'status', 'config');
  for (const r of rows) idOf.set(inboundPollerWorkflowId(r.type, r.id), r);

  const running = async (query: string) => {
    const found: Array<{ workflowId: string; runId: string; type: string }> = [];
    for await (const w of deps.client.workflow.list({ query })) if (idOf.has(w.workflowId)) found.push({ workflowId: w.workflowId, runId: w.runId, type: w.type });
    return found;
  };
  const replaced: string[] = [];
  for (const old of await running(`WorkflowType IN (${RETIRED_POLLER_TYPES.map((t) => `'${t}'`).join(', ')}) AND ExecutionStatus = 'Running'`)) {
    if (stopped()) break;
    await deps.client.workflow
      .getHandle(old.workflowId, old.runId)
      .terminate(`replaced by ${channelPollerWorkflow.name}`)
      .then(
        () => replaced.push(idOf.get(old.workflowId)!.id),
        (err: unknown) => {
          // Another replica ended it first.
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        },
      );
  }
  const current = new Set((await running(`WorkflowType = '${channelPollerWorkflow.name}' AND ExecutionStatus = 'Running'`)).map((w) => w.workflowId));
  const started: string[] = [];
  for (const ch of rows) {
    if (stopped()) break;
    // As the lifecycle does: only a channel whose credentials were found good has a poller started for it.
    if (!ch.is_active || ch.status !== 'connected' || current.has(inboundPollerWorkflowId(ch.type, ch.id))) continue;
    try {
      const adapter = adapterFor(ch.type);
      const cfg = adapter.config.safeParse(openConfig(deps.secrets, ch.type, ch.config, ch.id));
      if (!cfg.success || !adapter.poll?.polls(cfg.data)) continue;
      // Signal-with-start: a poller visibility had not listed yet is only woken.
      await startOrWakePoller(deps.client, taskQueue, ch.type, ch.id);
      started.push(ch.id);
    } catch (err) {
      deps.log?.warn('poller not started', { channel_id: ch.id, error: String(err) });
    }
  }
  return { started, replaced };
}
