/**
 * Delivery statuses in the conversation workflow, on a local Temporal dev server with
 * recording activities: batched in order, and a status that races its own send (Meta
 * reports `sent` before the send activity has stored the message's id) is not lost.
 */
import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import { localWorkflowEnvironment, sleep, waitFor } from '../helpers/local-workflow-env';
import type { PersistStatusesInput } from '../../activities/statuses';
import type { MessageStatusUpdate } from '../../src/channels/types';
import { ConversationInput, conversationWorkflow, messageStatusSignal, replySignal } from '../../workflows/conversation';

const env = localWorkflowEnvironment();

const status = (id: string, s: MessageStatusUpdate['status'] = 'delivered'): MessageStatusUpdate => ({ platformMessageId: id, status: s });

/** A "database" of outbound platform ids: a status matches once its send has stored the id. */
function world() {
  const known = new Set<string>(['p-old']);
  const calls: Array<{ ids: string[]; recordUnknown: boolean }> = [];
  const recordedUnknown: string[] = [];
  let releaseSend!: () => void;
  const sendGate = new Promise<void>((r) => (releaseSend = r));
  const activities = {
    async persistInbound() {
      return { conversationId: 'conv-1', stored: 0, duplicates: 0 };
    },
    async sendOutbound({ messageId }: { messageId: string }) {
      await sendGate;
      known.add(`p-${messageId}`);
      return { outcome: 'sent' as const, platformMessageId: `p-${messageId}` };
    },
    async markOutboundFailed() {},
    async persistMessageStatuses(input: PersistStatusesInput) {
      calls.push({ ids: input.updates.map((u) => `${u.platformMessageId}:${u.status}`), recordUnknown: input.recordUnknown });
      const unmatched = input.updates.filter((u) => !known.has(u.platformMessageId));
      if (input.recordUnknown) recordedUnknown.push(...unmatched.map((u) => u.platformMessageId));
      return { applied: input.updates.length - unmatched.length, stale: 0, unmatched: input.recordUnknown ? [] : unmatched };
    },
  };
  return { activities, calls, recordedUnknown, releaseSend };
}

test('a status for a send still in flight is parked, then applied once the send is done; unknown ones are recorded', async () => {
  const w = world();
  const taskQueue = `statuses-${randomUUID()}`;
  const workflowId = `conversation-statuses-${randomUUID()}`;
  const input: ConversationInput = { accountId: 'a', channelId: 'ch', channelType: 'whatsapp', threadKey: 't' };
  const worker = await Worker.create({ connection: env().nativeConnection, taskQueue, workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! }, activities: w.activities });
  const running = worker.run();
  const start = { workflowId, taskQueue, args: [input] as [ConversationInput] };
  try {
    await env().client.workflow.signalWithStart(conversationWorkflow, { ...start, signal: replySignal, signalArgs: [{ messageId: 'r1' }] });
    const handle = env().client.workflow.getHandle(workflowId);
    // Meta is quick: `sent` for r1 arrives while r1's send activity has not returned yet.
    await handle.signal(messageStatusSignal, status('p-r1', 'sent'));
    await handle.signal(messageStatusSignal, status('p-old', 'read'));
    await handle.signal(messageStatusSignal, status('p-never'));
    await waitFor('the in-flight statuses to be tried', () => w.calls.length >= 1);
    await sleep(300);
    expect(w.calls.every((c) => !c.recordUnknown)).toBe(true);
    expect(w.recordedUnknown).toEqual([]);

    w.releaseSend();
    await waitFor('the parked statuses to be retried', () => w.calls.some((c) => c.recordUnknown));
    await sleep(300);
    // Applied in arrival order; the parked ones once more, after the send, for good.
    const tried = w.calls.flatMap((c) => c.ids);
    expect(tried.filter((id) => id === 'p-r1:sent')).toHaveLength(2);
    expect(tried.indexOf('p-r1:sent')).toBeLessThan(tried.indexOf('p-old:read'));
    expect(w.calls[w.calls.length - 1]).toEqual({ ids: ['p-r1:sent', 'p-never:delivered'], recordUnknown: true });
    expect(w.recordedUnknown).toEqual(['p-never']);
  } finally {
    w.releaseSend();
    await env().client.workflow.getHandle(workflowId).terminate('test over').catch(() => undefined);
    worker.shutdown();
    await running;
  }
});

test('statuses queued across continue-as-new are carried over', async () => {
  const w = world();
  w.releaseSend();
  const taskQueue = `statuses-${randomUUID()}`;
  const workflowId = `conversation-statuses-${randomUUID()}`;
  const input: ConversationInput = {
    accountId: 'a', channelId: 'ch', channelType: 'whatsapp', threadKey: 't',
    pendingStatuses: [status('p-old', 'delivered')],
  };
  const worker = await Worker.create({ connection: env().nativeConnection, taskQueue, workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! }, activities: w.activities });
  const running = worker.run();
  try {
    await env().client.workflow.start(conversationWorkflow, { workflowId, taskQueue, args: [input] });
    await waitFor('the carried status to be persisted', () => w.calls.length === 1);
    expect(w.calls[0]).toEqual({ ids: ['p-old:delivered'], recordUnknown: true });
  } finally {
    await env().client.workflow.getHandle(workflowId).terminate('test over').catch(() => undefined);
    worker.shutdown();
    await running;
  }
});
