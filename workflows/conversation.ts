import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  patched,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { ConversationStatusKey } from '../src/temporal/search-attributes';
import { MESSAGE_NOT_FOUND, PLATFORM_FAILURE } from '../src/temporal/failure-types';
import type { Activities } from '../activities';
import type { InboundMessage } from '../src/channels/types';
import type { ConversationStatus } from '../src/inbox/schemas';
import {
  ConversationInput,
  PendingSend,
  REPLY_SEND_WINDOW_MS,
  SEND_RETRY,
  conversationStatusSignal,
  inboundSignal,
  messageStatusSignal,
  replySignal,
  retryReplyUpdate,
  sendAttemptFailedSignal,
  stateQuery,
} from './definitions';
import { messageStatusQueue } from './message-statuses';

export * from './definitions';

/** Status signals only wake the snooze loop; histories from before read their status from the signal. */
const STATUS_FROM_DATABASE = 'conversation-status-from-database';
/**
 * At the history bound, the run stores what has arrived before it hands over (instead of
 * carrying it, unbounded, in the next run's input), and a reply still retrying is handed over
 * too (instead of holding the run open for up to a day while its history grows). Histories
 * from before drained the old way.
 */
const DRAIN_HANDS_OVER_SENDS = 'conversation-drain-hands-over-sends';
/**
 * Sends after this: when the database is away just after the platform took a reply, the send
 * activity hands the fact back and the workflow records it (recordSent) instead of the activity
 * failing into a second send. Asked per send, so a history from before it replays as it ran.
 */
const SEND_RECORDS_LATER = 'conversation-send-records-later';
/**
 * A run with a quiet period (input.quietEndMs) ends after it, instead of waiting in a worker's
 * cache and on the server for a customer who may never write again; the next signal starts a
 * new run. Histories from before had no such timer.
 */
const QUIET_END = 'conversation-quiet-end';

/**
 * Persisting is a local activity: it runs in the worker that holds the workflow,
 * recorded in the same workflow task, with no round trip through the server's
 * activity queue. At one message per conversation (a busy inbox) that round trip
 * is most of Temporal's cost per message. A database outage is still retried,
 * with backoff, by timers once a retry is longer than a workflow task.
 */
const { persistInbound } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

const { markOutboundFailed, recordSent, persistMessageStatuses, checkSnooze, requeueFailedReply } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  // Database outages: keep trying, with backoff, for as long as it takes.
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

const { sendOutbound } = proxyActivities<Activities>({
  // Above the slowest adapter's own timeouts (SMTP: 30 s to connect, 30 s for the greeting,
  // 30 s per command), so an attempt is never retried while it may still be sending. A worker
  // that died mid-send is noticed by its missing heartbeats (the attempt beats every few
  // seconds), and the reply retried by another worker within half a minute.
  startToCloseTimeout: '3m',
  heartbeatTimeout: '30s',
  // Cancelled to hand a reply over to the next run (see DRAIN_HANDS_OVER_SENDS): an attempt
  // already calling the platform is let finish (the send does not stop for a cancel), so the
  // next run's attempt can never overlap it and send the reply twice.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  // A reply still undelivered after a day is reported failed rather than sent late.
  scheduleToCloseTimeout: REPLY_SEND_WINDOW_MS,
  retry: {
    initialInterval: SEND_RETRY.initialIntervalMs,
    backoffCoefficient: SEND_RETRY.backoffCoefficient,
    maximumInterval: SEND_RETRY.maximumIntervalMs,
    // Platform rate limits come back as PlatformRateLimited with the platform's own delay.
    nonRetryableErrorTypes: [PLATFORM_FAILURE.rejected, PLATFORM_FAILURE.auth, MESSAGE_NOT_FOUND],
  },
});

/** One persist call takes at most this many queued messages. */
const MAX_BATCH = 100;
const DEFAULT_MAX_HISTORY_EVENTS = 10_000;

/**
 * One workflow per conversation: a run for as long as it has work, continued as new when its
 * history is long, ended after a quiet period (input.quietEndMs), started again by the next signal.
 * Inbound messages are persisted in the order their signals arrived, in batches;
 * replies go out one at a time in the order agents sent them. While a reply is
 * retrying (outage, rate limit) later replies wait behind it, so a customer never
 * sees them out of order; inbound persistence is never held up by outbound.
 */
export async function conversationWorkflow(input: ConversationInput): Promise<void> {
  const inbox: InboundMessage[] = [...(input.pendingInbound ?? [])];
  const outbox: PendingSend[] = (input.pendingOutbound ?? []).map(queued);
  const totals = { ...(input.totals ?? { received: 0, sent: 0, failed: 0 }) };
  let conversationId = input.conversationId ?? null;
  let draining = false;
  // Set when draining starts (see DRAIN_HANDS_OVER_SENDS).
  let handOver = false;
  // A reply in flight: continue-as-new waits for it (handed over: only for an attempt in progress);
  // inbound persistence keeps going meanwhile.
  let sending = false;
  let cancelSend: (() => void) | undefined;
  // Set once the send in flight was asked to stop: whatever it ends with other than success, it is handed over.
  let sendCancelled = false;
  let persisting = false;

  // Anything that reaches the workflow: a quiet period starts over (see QUIET_END).
  let touched = 0;
  setHandler(inboundSignal, (m) => {
    touched++;
    inbox.push(m);
  });
  // Delivery statuses of sent replies, stored in order beside inbound (see message-statuses.ts).
  const statuses = messageStatusQueue(input.pendingStatuses ?? [], async (updates, recordUnknown) => {
    const r = await persistMessageStatuses({ channelId: input.channelId, updates, recordUnknown });
    touched++;
    return r;
  });
  setHandler(messageStatusSignal, (u) => {
    touched++;
    statuses.push(u);
  });
  setHandler(replySignal, ({ messageId }) => {
    touched++;
    // The API may signal again after a timeout; one queue entry per reply.
    if (!outbox.some((p) => p.messageId === messageId)) outbox.push(queued(messageId));
  });
  setHandler(retryReplyUpdate, async ({ messageId }) => {
    touched++;
    // Its send finishing right now (failed, being recorded): the retry comes after that, not instead.
    const settled = await condition(() => !outbox.some((p) => p.messageId === messageId && p.state === 'sending'), '10s');
    if (!settled || outbox.some((p) => p.messageId === messageId)) return { queued: false as const, status: 'pending' };
    // Failed → pending in the database first: only a reply still failed is queued, once.
    const r = await requeueFailedReply({ messageId });
    if (!r.requeued) return { queued: false as const, status: r.status };
    // Behind whatever is queued already; the queue was read again after the await.
    if (!outbox.some((p) => p.messageId === messageId)) outbox.push(queued(messageId));
    return { queued: true as const, position: outbox.findIndex((p) => p.messageId === messageId) + 1 };
  });
  setHandler(sendAttemptFailedSignal, (r) => {
    const p = outbox.find((s) => s.messageId === r.messageId);
    if (p) {
      p.attempts = Math.max(p.attempts, r.attempt);
      p.lastError = r.error;
    }
  });
  const setStatus = (status: ConversationStatus) => {
    if (workflowInfo().typedSearchAttributes.get(ConversationStatusKey) !== status) {
      upsertSearchAttributes([{ key: ConversationStatusKey, value: status }]);
    }
  };
  let lastInboundAt = input.lastInboundAt ?? '';
  // Status changes made in the inbox: the database has them, and the snooze loop reads them from it.
  let statusChanges = input.snoozeCheckPending ? 1 : 0;
  setHandler(conversationStatusSignal, ({ status, asOf }) => {
    touched++;
    // Workflows that took status signals before the inbox had snoozes set the attribute from the signal.
    if (!patched(STATUS_FROM_DATABASE)) {
      if (status === 'resolved' && asOf && lastInboundAt > asOf) return;
      setStatus(status);
      return;
    }
    statusChanges++;
  });
  setHandler(stateQuery, () => ({
    conversationId,
    channelId: input.channelId,
    channelType: input.channelType,
    threadKey: input.threadKey,
    inboundWaiting: inbox.length,
    pendingSends: outbox.map((p) => ({ ...p })),
    totals: { ...totals },
  }));

  async function persistLoop(): Promise<void> {
    for (;;) {
      await condition(() => inbox.length > 0 || (draining && !sending));
      if (draining && !sending && (!handOver || inbox.length === 0)) return;
      const batch = inbox.slice(0, MAX_BATCH);
      persisting = true;
      const result = await persistInbound({
        accountId: input.accountId,
        channelId: input.channelId,
        channelType: input.channelType,
        threadKey: input.threadKey,
        workflowId: workflowInfo().workflowId,
        messages: batch,
      });
      persisting = false;
      touched++;
      // Removed only once stored, so a continue-as-new never drops what is in flight.
      inbox.splice(0, batch.length);
      conversationId = result.conversationId ?? conversationId;
      totals.received += result.stored;
      // Kept in ignored_events with PostgreSQL's reason; the conversation goes on without them.
      if (result.setAside?.length) log.warn('inbound messages set aside: PostgreSQL cannot store them', { setAside: result.setAside });
      // A customer writing again reopens a resolved conversation (persistInbound did so in the database).
      if (result.stored > 0) {
        lastInboundAt = result.lastMessageAt ?? lastInboundAt;
        setStatus('open');
      }
    }
  }

  async function sendLoop(): Promise<void> {
    for (;;) {
      await condition(() => outbox.length > 0 || draining);
      if (draining) return;
      const head = outbox[0];
      head.state = 'sending';
      sending = true;
      const scope = new CancellationScope();
      cancelSend = () => {
        sendCancelled = true;
        scope.cancel();
      };
      try {
        const recordLater = patched(SEND_RECORDS_LATER);
        const r = await scope.run(() => sendOutbound({ messageId: head.messageId, recordLater }));
        // Out, but the database was down: recorded from here once it is back, never sent again.
        // Outside the scope: a hand-over waits for it rather than leaving the next run to resend.
        if (r.outcome === 'sent' && r.recorded === false && r.platformMessageId) {
          await recordSent({ messageId: head.messageId, platformMessageId: r.platformMessageId, attempts: r.attempts ?? 1 });
        }
        // 'already_done': a repeated reply signal for a reply sent earlier, not a second send.
        if (r.outcome === 'failed') totals.failed++;
        else if (r.outcome === 'sent') totals.sent++;
      } catch (err) {
        // Cancelled between attempts, or an attempt in progress that then failed (the server retries
        // nothing once a cancel is asked): handed over either way. The next run sends it, first in its
        // queue; one the activity already recorded (sent, or refused for good) is not sent again.
        if (isCancellation(err) || sendCancelled) {
          head.state = 'queued';
          sending = false;
          return;
        }
        totals.failed++;
        await markOutboundFailed({ messageId: head.messageId, reason: failureReason(err) });
      }
      cancelSend = undefined;
      outbox.shift();
      sending = false;
      touched++;
    }
  }

  /**
   * Keeps the ConversationStatus attribute and a snooze's timer as the database says: after every
   * status change from the inbox it asks (checkSnooze), waits out a snooze with a durable timer,
   * and asks again when it ends, which opens the conversation unless someone did first.
   */
  let statusChangesRead = 0;
  let snoozeWaiting = false;
  async function snoozeLoop(): Promise<void> {
    for (;;) {
      await condition(() => statusChanges !== statusChangesRead || draining);
      if (draining) return;
      statusChangesRead = statusChanges;
      const r = await checkSnooze({ channelId: input.channelId, threadKey: input.threadKey });
      touched++;
      if (r.status) setStatus(r.status);
      if (r.outcome !== 'wait') continue;
      // A durable timer: it fires on time through worker restarts (and continue-as-new asks again).
      snoozeWaiting = true;
      const changed = await condition(() => statusChanges !== statusChangesRead || draining, r.waitMs);
      if (draining) return;
      snoozeWaiting = false;
      // Its time came: ask again, which opens it unless someone changed it meanwhile.
      if (!changed) statusChanges++;
    }
  }

  const loops = Promise.all([persistLoop(), sendLoop(), snoozeLoop(), statuses.run(() => sending, () => draining)]);
  const maxEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  const historyFull = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxEvents;
  const idle = () =>
    inbox.length === 0 && outbox.length === 0 && !persisting && !sending && statuses.pending().length === 0 && !snoozeWaiting && statusChanges === statusChangesRead;
  let quiet = false;
  if (input.quietEndMs && input.quietEndMs > 0 && patched(QUIET_END)) {
    // One timer per quiet period, not one per message: a busy conversation pays a timer a day.
    // The run ends between one and two periods after the last thing it had to do.
    for (;;) {
      const seen = touched;
      if (await condition(() => historyFull(), input.quietEndMs)) break;
      if (touched === seen && idle()) {
        quiet = true;
        break;
      }
    }
  } else {
    await condition(() => historyFull());
  }
  draining = true;
  handOver = patched(DRAIN_HANDS_OVER_SENDS);
  if (handOver && sending) {
    // Once what arrived is stored: a cancel issued while a persist (a local activity) runs in the
    // same workflow task has been seen to make the SDK run that persist twice.
    await condition(() => (inbox.length === 0 && !persisting) || !sending);
    cancelSend?.();
  }
  await loops;
  // The last persists ran in this workflow task; were continue-as-new in it too, a signal arriving
  // meanwhile would make the server refuse the task, and the persists would run again. A timer
  // ends the task first, with their results recorded.
  if (handOver) await sleep(1);
  await condition(allHandlersFinished);
  // Quiet, and nothing arrived while the loops stopped: done. The conversation is in PostgreSQL;
  // the next signal-with-start begins a new run, with an empty history.
  if (quiet && idle()) return;
  // Whatever arrived meanwhile travels with the new run.
  await continueAsNew<typeof conversationWorkflow>({
    ...input,
    conversationId: conversationId ?? undefined,
    pendingInbound: inbox,
    pendingOutbound: outbox.map((p) => p.messageId),
    pendingStatuses: statuses.pending(),
    totals,
    lastInboundAt,
    // A snooze being waited out, or a change not yet read: the new run reads the database first.
    snoozeCheckPending: snoozeWaiting || statusChanges !== statusChangesRead,
  });
}

function queued(messageId: string): PendingSend {
  return { messageId, state: 'queued', attempts: 0, lastError: null };
}

/** The platform's own words when there are any, never a stack trace. */
function failureReason(err: unknown): string {
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) return cause.message;
    if (cause) return cause.message || cause.name;
  }
  return err instanceof Error ? err.message : String(err);
}
