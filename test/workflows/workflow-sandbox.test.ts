/**
 * The two sandbox switches PingBack adds to the Temporal SDK (patches/, see
 * src/temporal/workflow-sandbox.ts), on a real local dev server: the defaults a
 * PingBack worker runs with, and each switch turned back on as an operator would.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { configSchema } from '../../src/config';
import { workflowSandbox } from '../../src/temporal/workflow-sandbox';
import type { PersistInboundInput, PersistInboundResult } from '../../activities/messages';
import { conversationWorkflow, inboundSignal, stateQuery } from '../../workflows/conversation';
import { localWorkflowEnvironment, waitFor } from '../helpers/local-workflow-env';
import { quietLogger } from '../helpers/runtime';

const env = localWorkflowEnvironment();
const config = (vars: Record<string, string> = {}) => configSchema.parse({ DATABASE_URL: 'postgres://x@127.0.0.1/x', ...vars });

/** A conversation on a worker with the given sandbox settings; the worker and workflow are gone afterwards. */
async function withConversation(settings: ReturnType<typeof config>, fn: (workflowId: string) => Promise<void>) {
  const taskQueue = `sandbox-${randomUUID()}`;
  const workflowId = `conversation-sandbox-${randomUUID()}`;
  const persisted: string[] = [];
  const worker = await Worker.create({
    connection: env().nativeConnection,
    taskQueue,
    workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
    ...workflowSandbox(settings),
    activities: {
      async persistInbound(input: PersistInboundInput): Promise<PersistInboundResult> {
        persisted.push(...input.messages.map((m) => m.platformMessageId));
        return { conversationId: 'conv-1', stored: input.messages.length, duplicates: 0 };
      },
    },
  });
  const running = worker.run();
  try {
    await env().client.workflow.signalWithStart(conversationWorkflow, {
      workflowId,
      taskQueue,
      args: [{ accountId: 'acc-1', channelId: 'ch-1', channelType: 'telegram', threadKey: workflowId }],
      signal: inboundSignal,
      signalArgs: [{ platformMessageId: 'm1', threadKey: workflowId, contact: { platformUserId: 'u1' }, content: 'hi', contentType: 'text', attachments: [], metadata: {} }],
    });
    await waitFor('the message persisted', () => persisted.includes('m1'));
    await fn(workflowId);
  } finally {
    await env().client.workflow.getHandle(workflowId).terminate('test over').catch(() => undefined);
    worker.shutdown();
    await running;
  }
}

test("by default a worker runs conversations as the SDK ships: the deadlock detector on, and the stack trace query shows where a conversation waits", async () => {
  expect(config()).toMatchObject({ WORKER_DEADLOCK_TIMEOUT_MS: 5000, WORKER_WORKFLOW_STACK_TRACES: true });
  expect(workflowSandbox(config())).toEqual({ isolateExecutionTimeout: 5000 });
  await withConversation(config(), async (workflowId) => {
    // What the Temporal UI's "Stack Trace" tab shows the operator.
    const stack = await env().client.workflow.getHandle(workflowId).query<string>('__stack_trace');
    expect(stack).toContain('conversationWorkflow');
  });
});

test('the fast path an operator opts into (patched SDK): no sandbox deadline, no stack traces, conversations run', async () => {
  // Unpatched, the SDK hands node:vm a timeout of 0, which Node refuses on every call: no message would persist.
  await withConversation(config({ WORKER_DEADLOCK_TIMEOUT_MS: '0', WORKER_WORKFLOW_STACK_TRACES: 'false' }), async (workflowId) => {
    const handle = env().client.workflow.getHandle(workflowId);
    expect(await handle.query(stateQuery)).toMatchObject({ conversationId: 'conv-1', totals: { received: 1 } });
    // Refused: "stack traces are not enabled", in words this plain client sees as "Encoded failure",
    // since PingBack's workflows encode failures' messages (src/temporal/failure-converter.ts).
    await expect(handle.query('__stack_trace')).rejects.toThrow(/stack traces are not enabled|Encoded failure/);
  });
});

test('WORKER_DEADLOCK_TIMEOUT_MS brings the SDK\'s detector back: a workflow that never yields fails its task instead of holding the thread', async () => {
  const taskQueue = `sandbox-${randomUUID()}`;
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'fixtures/spinning-workflow.ts'), logger: quietLogger });
  const worker = await Worker.create({ connection: env().nativeConnection, taskQueue, workflowBundle, ...workflowSandbox(config({ WORKER_DEADLOCK_TIMEOUT_MS: '300' })) });
  const running = worker.run();
  const handle = await env().client.workflow.start('spinningWorkflow', { workflowId: `spinning-${randomUUID()}`, taskQueue });
  try {
    let failure = '';
    await waitFor('a workflow task failure', async () => {
      const { events } = await handle.fetchHistory();
      const failed = events?.find((e) => e.workflowTaskFailedEventAttributes);
      failure = failed?.workflowTaskFailedEventAttributes?.failure?.message ?? '';
      return failure !== '';
    });
    expect(failure).toBe('Script execution timed out after 300ms');
  } finally {
    await handle.terminate('test over');
    worker.shutdown();
    await running;
  }
});
