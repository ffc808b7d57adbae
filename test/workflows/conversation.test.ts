/**
 * The conversation workflow on a real (local) Temporal dev server, with its
 * activities replaced by plain recording functions: what goes into the database,
 * what goes out to the platform, in which order, how often, and across
 * continue-as-new.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { localWorkflowEnvironment, sleep, waitFor } from '../helpers/local-workflow-env';
import type { InboundMessage } from '../../src/channels/types';
import type { PersistInboundInput, PersistInboundResult } from '../../activities/messages';
import type { SendOutboundResult } from '../../activities/outbound';
import {
  ConversationInput,
  ConversationState,
  conversationWorkflow,
  inboundSignal,
  replySignal,
  sendAttemptFailedSignal,
  stateQuery,
} from '../../workflows/conversation';

const env = localWorkflowEnvironment();

// ---------------------------------------------------------------------------
// Helpers

interface Gate {
  promise: Promise<void>;
  open(): void;
}
function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

function inbound(id: string, threadKey: string): InboundMessage {
  return {
    platformMessageId: id,
    threadKey,
    contact: { platformUserId: 'user-1', name: 'Ada' },
    content: `text of ${id}`,
    contentType: 'text',
    attachments: [],
    metadata: {},
  };
}

/** Retryable, at the platform's pace. (The dev server still waits about 1s between attempts.) */
const retryable = (message = '503 Service Unavailable') =>
  ApplicationFailure.create({ message, type: 'PlatformUnavailable', nextRetryDelay: '100ms' });

interface PersistCall {
  runId: string;
  ids: string[];
}
interface SendCall {
  runId: string;
  messageId: string;
  attempt: number;
}

/**
 * Recording mocks. `persist` and `send` are the behaviour under test (default:
 * succeed at once); `calls` and `events` are what the tests assert on.
 */
function mocks(opts: {
  persist?: (input: PersistInboundInput, callNo: number) => Promise<void>;
  send?: (messageId: string, attempt: number) => Promise<SendOutboundResult | void>;
  conversationId?: string;
} = {}) {
  const persistCalls: PersistCall[] = [];
  const sendCalls: SendCall[] = [];
  const sent: string[] = []; // replies whose send succeeded, in order
  const failed: { messageId: string; reason: string }[] = [];
  const events: string[] = []; // start/end of every activity, in order
  let inFlightSends = 0;
  let maxInFlightSends = 0;

  const runId = () => Context.current().info.workflowExecution!.runId;
  const activities = {
    async persistInbound(input: PersistInboundInput): Promise<PersistInboundResult> {
      const call = { runId: runId(), ids: input.messages.map((m) => m.platformMessageId) };
      persistCalls.push(call);
      events.push(`persist:start:${call.ids.join(',')}`);
      await opts.persist?.(input, persistCalls.length);
      events.push(`persist:end:${call.ids.join(',')}`);
      return { conversationId: opts.conversationId ?? 'conv-1', stored: input.messages.length, duplicates: 0 };
    },
    async sendOutbound({ messageId }: { messageId: string }): Promise<SendOutboundResult> {
      const attempt = Context.current().info.attempt;
      sendCalls.push({ runId: runId(), messageId, attempt });
      inFlightSends++;
      maxInFlightSends = Math.max(maxInFlightSends, inFlightSends);
      events.push(`send:start:${messageId}#${attempt}`);
      try {
        await sleep(20); // long enough for an overlapping send to show
        const r = (await opts.send?.(messageId, attempt)) ?? { outcome: 'sent' as const, platformMessageId: `p-${messageId}` };
        if (r.outcome === 'sent') sent.push(messageId);
        return r;
      } finally {
        inFlightSends--;
        events.push(`send:end:${messageId}#${attempt}`);
      }
    },
    async markOutboundFailed(input: { messageId: string; reason: string }): Promise<void> {
      failed.push(input);
      events.push(`markFailed:${input.messageId}`);
    },
  };
  return {
    activities,
    persistCalls,
    sendCalls,
    sent,
    failed,
    events,
    persistedIds: () => persistCalls.flatMap((c) => c.ids),
    maxInFlightSends: () => maxInFlightSends,
  };
}

interface Conversation {
  client: Client;
  workflowId: string;
  handle: WorkflowHandle<typeof conversationWorkflow>;
  input: ConversationInput;
  /** Signal-with-start, as the API does for every inbound message and reply. */
  inbound(id: string): Promise<string>;
  reply(messageId: string): Promise<string>;
  state(): Promise<ConversationState>;
}

/**
 * One test's world: its own task queue, a worker on it running `activities`,
 * and one conversation workflow id. The worker is shut down and the workflow
 * terminated afterwards, whatever happened.
 */
async function withConversation(
  activities: ReturnType<typeof mocks>['activities'],
  fn: (c: Conversation) => Promise<void>,
  extraInput: Partial<ConversationInput> = {},
  cleanup: () => void = () => undefined,
): Promise<void> {
  const taskQueue = `conv-test-${randomUUID()}`;
  const threadKey = `thread-${randomUUID()}`;
  const workflowId = `conversation-test-${threadKey}`;
  const input: ConversationInput = { accountId: 'acc-1', channelId: 'ch-1', channelType: 'telegram', threadKey, ...extraInput };
  const client = env().client;
  const worker = await Worker.create({
    connection: env().nativeConnection,
    taskQueue,
    workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
    activities,
  });
  const running = worker.run();
  const start = { workflowId, taskQueue, args: [input] as [ConversationInput] };
  const conversation: Conversation = {
    client,
    workflowId,
    input,
    handle: client.workflow.getHandle<typeof conversationWorkflow>(workflowId),
    async inbound(id) {
      const h = await client.workflow.signalWithStart(conversationWorkflow, { ...start, signal: inboundSignal, signalArgs: [inbound(id, threadKey)] });
      return h.signaledRunId;
    },
    async reply(messageId) {
      const h = await client.workflow.signalWithStart(conversationWorkflow, { ...start, signal: replySignal, signalArgs: [{ messageId }] });
      return h.signaledRunId;
    },
    state: () => client.workflow.getHandle(workflowId).query(stateQuery),
  };
  try {
    await fn(conversation);
  } finally {
    cleanup();
    await conversation.handle.terminate('test over').catch(() => undefined);
    worker.shutdown();
    await running;
  }
}

const ids = (prefix: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

// ---------------------------------------------------------------------------

test('inbound messages are persisted in signal order, batching what queued while a persist was running', async () => {
  const firstPersist = gate();
  const m = mocks({
    persist: async (_input, callNo) => {
      if (callNo === 1) await firstPersist.promise;
    },
  });
  await withConversation(
    m.activities,
    async (c) => {
      await c.inbound('A');
      await waitFor('the first persist to start', () => m.persistCalls.length === 1);
      // Back-to-back while A is still being stored.
      await c.inbound('B');
      await c.inbound('C');
      await c.inbound('D');
      await waitFor('B, C and D queued', async () => (await c.state()).inboundWaiting === 4);
      firstPersist.open();
      await waitFor('everything persisted', () => m.persistedIds().length >= 4);
      await sleep(300); // a stray extra call would show here

      expect(m.persistCalls.map((x) => x.ids)).toEqual([['A'], ['B', 'C', 'D']]);
      const state = await c.state();
      expect(state).toMatchObject({ conversationId: 'conv-1', inboundWaiting: 0, pendingSends: [], totals: { received: 4, sent: 0, failed: 0 } });
      expect(m.sendCalls).toEqual([]);
    },
    {},
    () => firstPersist.open(),
  );
});

test('replies go out one at a time in signal order, through retries, and a duplicate reply signal sends once', async () => {
  const r1FirstAttempt = gate();
  const m = mocks({
    send: async (messageId, attempt) => {
      if (messageId === 'r1' && attempt === 1) await r1FirstAttempt.promise;
      if (messageId === 'r1' && attempt <= 2) throw retryable();
    },
  });
  await withConversation(
    m.activities,
    async (c) => {
      await c.reply('r1');
      await waitFor('r1 to be in flight', () => m.sendCalls.length === 1);
      await c.reply('r2');
      await c.reply('r2'); // the API timed out and signalled again
      await c.reply('r3');
      await waitFor('r2 and r3 queued', async () => (await c.state()).pendingSends.length === 3);
      r1FirstAttempt.open();
      await waitFor('all replies sent', () => m.sent.length >= 3);
      await sleep(300);

      expect(m.sent).toEqual(['r1', 'r2', 'r3']);
      expect(m.sendCalls.map((s) => `${s.messageId}#${s.attempt}`)).toEqual(['r1#1', 'r1#2', 'r1#3', 'r2#1', 'r3#1']);
      expect(m.maxInFlightSends()).toBe(1);
      // Each send starts only after the previous one ended.
      const sendEvents = m.events.filter((e) => e.startsWith('send:'));
      for (let i = 0; i < sendEvents.length; i += 2) {
        expect(sendEvents[i]).toMatch(/^send:start:/);
        expect(sendEvents[i + 1]).toBe(sendEvents[i].replace('start', 'end'));
      }
      expect(m.failed).toEqual([]);
      const state = await c.state();
      expect(state.pendingSends).toEqual([]);
      expect(state.totals).toEqual({ received: 0, sent: 3, failed: 0 });
    },
    {},
    () => r1FirstAttempt.open(),
  );
});

test('a reply the platform rejects is marked failed with the platform message, and later replies still go out', async () => {
  const m = mocks({
    send: async (messageId) => {
      if (messageId === 'r1') throw ApplicationFailure.nonRetryable('Bad Request: chat not found', 'PlatformRejected');
      // Not flagged non-retryable by the activity: the workflow's retry policy lists the type.
      if (messageId === 'r2') throw ApplicationFailure.create({ message: 'Forbidden: bot was blocked by the user', type: 'PlatformRejected' });
      // The activity recorded the failure itself (e.g. channel deactivated): nothing to mark.
      if (messageId === 'r3') return { outcome: 'failed', error: 'channel_inactive' };
    },
  });
  await withConversation(m.activities, async (c) => {
    for (const r of ['r1', 'r2', 'r3', 'r4']) await c.reply(r);
    await waitFor('r4 sent', () => m.sent.includes('r4'));
    await sleep(300);

    expect(m.sendCalls.map((s) => `${s.messageId}#${s.attempt}`)).toEqual(['r1#1', 'r2#1', 'r3#1', 'r4#1']);
    expect(m.failed).toEqual([
      { messageId: 'r1', reason: 'Bad Request: chat not found' },
      { messageId: 'r2', reason: 'Forbidden: bot was blocked by the user' },
    ]);
    expect(m.sent).toEqual(['r4']);
    // r2 only went out once r1 was marked failed, and so on.
    expect(m.events.filter((e) => !e.startsWith('send:end'))).toEqual([
      'send:start:r1#1',
      'markFailed:r1',
      'send:start:r2#1',
      'markFailed:r2',
      'send:start:r3#1',
      'send:start:r4#1',
    ]);
    const state = await c.state();
    expect(state.pendingSends).toEqual([]);
    expect(state.totals).toEqual({ received: 0, sent: 1, failed: 3 });
  });
});

test('the state query shows a retrying send with its attempts and last error, and the totals', async () => {
  const r1Send = gate();
  const m = mocks({
    conversationId: 'conv-42',
    send: async (messageId) => {
      if (messageId === 'r1') await r1Send.promise;
    },
  });
  await withConversation(
    m.activities,
    async (c) => {
      await c.inbound('m1');
      await c.inbound('m2');
      await waitFor('inbound persisted', () => m.persistedIds().length === 2);
      await c.reply('r1');
      await c.reply('r2');
      await waitFor('r1 in flight', () => m.sendCalls.length === 1);
      // What the send activity reports after a failed attempt; an unknown id is ignored.
      await c.handle.signal(sendAttemptFailedSignal, { messageId: 'r1', attempt: 3, error: '429 Too Many Requests: retry after 5', retryInMs: 5000 });
      await c.handle.signal(sendAttemptFailedSignal, { messageId: 'r-unknown', attempt: 1, error: 'nope' });

      const expected: ConversationState = {
        conversationId: 'conv-42',
        channelId: 'ch-1',
        channelType: 'telegram',
        threadKey: c.input.threadKey,
        inboundWaiting: 0,
        pendingSends: [
          { messageId: 'r1', state: 'sending', attempts: 3, lastError: '429 Too Many Requests: retry after 5' },
          { messageId: 'r2', state: 'queued', attempts: 0, lastError: null },
        ],
        totals: { received: 2, sent: 0, failed: 0 },
      };
      await waitFor('the attempt report in the state', async () => (await c.state()).pendingSends[0]?.attempts === 3);
      expect(await c.state()).toEqual(expected);

      r1Send.open();
      await waitFor('both replies sent', () => m.sent.length === 2);
      await waitFor('the totals updated', async () => (await c.state()).totals.sent === 2);
      expect(await c.state()).toEqual({ ...expected, pendingSends: [], totals: { received: 2, sent: 2, failed: 0 } });
    },
    {},
    () => r1Send.open(),
  );
});

test('continue-as-new drops nothing: every message persisted and every reply sent exactly once, in order, across runs', async () => {
  let persistGate: Gate | undefined;
  let sendGate: Gate | undefined;
  const m = mocks({
    persist: async () => {
      const g = persistGate;
      persistGate = undefined;
      await g?.promise;
    },
    send: async () => {
      const g = sendGate;
      sendGate = undefined;
      await g?.promise;
    },
  });
  const held: Gate[] = [];
  await withConversation(
    m.activities,
    async (c) => {
      const signalled: string[] = [];
      const replied: string[] = [];
      const inb = async (id: string) => {
        signalled.push(id);
        return c.inbound(id);
      };
      const rep = async (id: string) => {
        replied.push(id);
        return c.reply(id);
      };

      // Phase 1: a few messages and replies on the first run.
      const firstRunId = await inb('m1');
      await inb('m2');
      await rep('r1');
      await waitFor('phase 1 done', () => m.persistedIds().length === 2 && m.sent.length === 1);
      const before = await c.handle.describe();
      expect(before.runId).toBe(firstRunId);
      expect(before.historyLength).toBeLessThan(32); // room left below the bound for phase 2 to start

      // Phase 2: a persist and a send in flight while the history crosses the bound.
      persistGate = gate();
      sendGate = gate();
      held.push(persistGate, sendGate);
      const [pg, sg] = [persistGate, sendGate];
      await inb('m3');
      await rep('r2');
      await waitFor('m3 and r2 in flight', () => m.persistedIds().includes('m3') && m.sendCalls.length === 2);
      let n = 4;
      while ((await c.handle.describe()).historyLength <= 44) await inb(`m${n++}`);
      await sleep(300); // the workflow task that saw the bound crossed has completed
      // Signalled once the workflow has already decided to continue as new, still behind the activities.
      const afterCrossing = ids('m', n, n + 3);
      n += afterCrossing.length;
      for (const id of afterCrossing) await inb(id);
      await rep('r3');
      await rep('r3'); // duplicate
      await rep('r4');
      expect((await c.handle.describe()).runId).toBe(firstRunId); // cannot continue as new with work in flight
      // The send finishes first (while a send is in flight, inbound persistence carries on: see the last test),
      // then the persist: the run ends there and what queued behind them travels to the next run.
      sg.open();
      await waitFor('r2 done', async () => (await c.state()).pendingSends.map((p) => p.messageId).join() === 'r3,r4');
      pg.open();
      await waitFor('phase 2 done', () => m.persistedIds().length === signalled.length && m.sent.length === 4);
      const secondRunId = (await c.handle.describe()).runId;
      expect(secondRunId).not.toBe(firstRunId);
      expect((await c.client.workflow.getHandle(c.workflowId, firstRunId).describe()).status.name).toBe('CONTINUED_AS_NEW');
      // The in-flight work finished on the first run, and so did storing what had arrived before it handed
      // over (nothing unbounded travels in the next run's input); the replies queued behind went to the next one.
      const callFor = (id: string) => m.persistCalls.find((x) => x.ids.includes(id))!;
      expect(callFor('m3').runId).toBe(firstRunId);
      for (const id of afterCrossing) expect(callFor(id).runId).toBe(firstRunId);
      expect(m.sendCalls.find((s) => s.messageId === 'r2')!.runId).toBe(firstRunId);
      expect(m.sendCalls.find((s) => s.messageId === 'r3')!.runId).not.toBe(firstRunId);

      // Phase 3: a steady stream, interleaving inbound and replies, through several more runs.
      for (let i = 0; i < 40; i++) {
        await inb(`m${n++}`);
        if (i % 4 === 3) await rep(`r${5 + (i >> 2)}`);
      }
      await waitFor('phase 3 done', () => m.persistedIds().length === signalled.length && m.sent.length === replied.length - 1);
      await sleep(500);

      expect(m.persistedIds()).toEqual(signalled); // exactly once each, in signal order
      expect(m.sent).toEqual(replied.filter((r, i) => replied.indexOf(r) === i));
      expect(m.sendCalls.map((s) => s.messageId)).toEqual(m.sent); // no retries here, no resends
      expect(m.maxInFlightSends()).toBe(1);
      // Through several runs (how many persists each had depends on how the signals were batched).
      const runs = new Set([...m.persistCalls, ...m.sendCalls].map((x) => x.runId)).add((await c.handle.describe()).runId);
      expect(runs.size).toBeGreaterThanOrEqual(3);

      const state = await c.state();
      expect(state.totals).toEqual({ received: signalled.length, sent: m.sent.length, failed: 0 });
      expect(state.conversationId).toBe('conv-1');
      expect(state.inboundWaiting).toBe(0);
      expect(state.pendingSends).toEqual([]);
    },
    { maxHistoryEvents: 40 },
    () => held.forEach((g) => g.open()),
  );
});

test('inbound persistence is not held up by a reply that keeps retrying', async () => {
  let platformUp = false;
  const m = mocks({
    send: async () => {
      if (!platformUp) throw retryable();
    },
  });
  await withConversation(
    m.activities,
    async (c) => {
      await c.reply('r1');
      await waitFor('r1 retrying', () => m.sendCalls.length >= 2);
      for (const id of ['m1', 'm2', 'm3']) await c.inbound(id);
      await waitFor('inbound persisted', () => m.persistedIds().length === 3);

      expect(m.persistedIds()).toEqual(['m1', 'm2', 'm3']);
      expect(m.sent).toEqual([]);
      const state = await c.state();
      expect(state.pendingSends).toMatchObject([{ messageId: 'r1', state: 'sending' }]);
      expect(state.totals).toEqual({ received: 3, sent: 0, failed: 0 });

      platformUp = true;
      await waitFor('r1 sent', () => m.sent.length === 1);
      expect(m.sendCalls.every((s) => s.messageId === 'r1')).toBe(true);
      await waitFor('totals updated', async () => (await c.state()).totals.sent === 1);
    },
    {},
    () => (platformUp = true),
  );
});

test('at the history bound, a reply retrying through an outage is handed to the next run (no run is held open for it), and sent there once', async () => {
  let platformUp = false;
  const m = mocks({
    send: async () => {
      if (!platformUp) throw retryable();
    },
  });
  await withConversation(
    m.activities,
    async (c) => {
      const signalled: string[] = [];
      const firstRunId = await c.reply('r1');
      await waitFor('r1 retrying', () => m.sendCalls.length >= 1);
      let n = 1;
      while ((await c.handle.describe()).historyLength <= 44) {
        signalled.push(`m${n}`);
        await c.inbound(`m${n++}`);
      }
      // The bound crossed: the run hands r1 over (its retry cancelled between attempts) rather than waiting for the platform.
      await waitFor('continued as new with r1 still failing', async () => (await c.handle.describe()).runId !== firstRunId, 15_000);
      for (let i = 0; i < 3; i++) {
        signalled.push(`m${n}`);
        await c.inbound(`m${n++}`);
      }
      await waitFor('inbound persisted while r1 is still retrying', () => m.persistedIds().length === signalled.length, 10_000);
      expect(m.sent).toEqual([]);
      // What had arrived was stored by the first run; only what came in its last moment travels in the next one's input.
      const input = (await c.client.workflow.getHandle(c.workflowId).fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      const carried: string[] = JSON.parse(Buffer.from(input[0]!.data!).toString()).pendingInbound.map((x: InboundMessage) => x.platformMessageId);
      const storedByFirst = m.persistCalls.filter((x) => x.runId === firstRunId).flatMap((x) => x.ids);
      expect(storedByFirst.length).toBeGreaterThan(10);
      expect(carried.length).toBeLessThan(5);
      expect(carried.filter((id) => storedByFirst.includes(id))).toEqual([]);
      expect(await c.state()).toMatchObject({ pendingSends: [{ messageId: 'r1' }] });

      platformUp = true;
      await waitFor('r1 sent', () => m.sent.length === 1);
      expect(m.persistedIds()).toEqual(signalled);
      expect(m.sent).toEqual(['r1']);
      expect(m.maxInFlightSends()).toBe(1);
      // One first attempt per run that held it.
      expect(new Set(m.sendCalls.filter((s) => s.attempt === 1).map((s) => s.runId)).size).toBeGreaterThanOrEqual(2);
      await waitFor('totals updated', async () => (await c.state()).totals.sent === 1);
      expect(await c.state()).toMatchObject({ pendingSends: [], inboundWaiting: 0, totals: { sent: 1, failed: 0 } });
      // The run that handed over replays as it ran (a worker picking it up from history decides the same).
      const handedOver = await c.client.workflow.getHandle(c.workflowId, firstRunId).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } }, handedOver, c.workflowId);
    },
    { maxHistoryEvents: 40 },
    () => (platformUp = true),
  );
});

test('a reply whose attempt is still calling the platform when the run hands over is handed over too, even when that attempt then fails', async () => {
  let platformUp = false;
  const hold = gate();
  let first = true;
  const m = mocks({
    send: async () => {
      if (first) {
        first = false;
        await hold.promise; // still calling the platform when the bound is crossed
        throw retryable();
      }
      if (!platformUp) throw retryable();
    },
  });
  await withConversation(
    m.activities,
    async (c) => {
      const firstRunId = await c.reply('r1');
      await waitFor('r1 attempt running', () => m.sendCalls.length >= 1);
      let n = 1;
      while ((await c.handle.describe()).historyLength <= 44) await c.inbound(`m${n++}`);
      await sleep(300); // the run has asked the send to stop; the attempt is still running
      hold.open(); // and fails: the server retries nothing after a cancel, and the run must not take it for the reply's end
      await waitFor('continued as new', async () => (await c.handle.describe()).runId !== firstRunId, 15_000);
      expect(m.failed).toEqual([]);
      platformUp = true;
      await waitFor('r1 sent by the next run', () => m.sent.length === 1);
      expect(m.failed).toEqual([]);
      expect(m.sendCalls.find((s) => s.runId !== firstRunId)?.messageId).toBe('r1');
    },
    { maxHistoryEvents: 40 },
    () => {
      platformUp = true;
      hold.open();
    },
  );
});
