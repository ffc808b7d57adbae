import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ConversationStatusChange, RetryReplyResult } from '../../workflows/definitions';
import type { ConversationRef, InboundMessage, MessageStatusUpdate } from '../channels/types';
import { AppError } from '../errors';
import type { ConversationStatus } from '../inbox/schemas';
import type { SignalKind } from '../metrics/api-metrics';
import { conversationStatusSignal, conversationWorkflow, inboundSignal, messageStatusSignal, replySignal, retryReplyUpdate } from '../../workflows/conversation';
import { boundInbound, boundRef } from '../inbound/bound';
import { conversationWorkflowId } from './ids';
import { AccountIdKey, ChannelIdKey, ChannelTypeKey, ConversationStatusKey } from './search-attributes';

export type { ConversationRef };

export interface ConversationSignaller {
  inbound(ref: ConversationRef, message: InboundMessage): Promise<void>;
  reply(ref: ConversationRef, messageId: string): Promise<void>;
  /** A failed reply queued again (update-with-start: the answer says whether it was). */
  retryReply(ref: ConversationRef, messageId: string): Promise<RetryReplyResult>;
  status(ref: ConversationRef, change: ConversationStatusChange): Promise<void>;
  /**
   * A delivery status for an outbound message. Signals the running workflow; a status for a
   * conversation PingBack never had (a message sent from another tool on the same number)
   * answers `no_conversation`. One whose run ended after a quiet period
   * (CONVERSATION_QUIET_END_HOURS) starts a new run when `known` says the conversation exists.
   */
  messageStatus(ref: ConversationRef, update: MessageStatusUpdate, known?: (workflowId: string) => Promise<boolean>): Promise<'signalled' | 'no_conversation'>;
}

/**
 * Signal-with-start of a conversation's workflow: starts it if it is not running,
 * then delivers the signal, in one call the server accepts or refuses as a whole.
 * Resolves only once Temporal has accepted; otherwise throws a 503 AppError, so
 * the platform (or the agent's client) retries.
 */
const RETRY_TIMEOUT_MS = 30_000;

export function conversationSignaller(
  client: Client,
  taskQueue: string,
  timeoutMs: number,
  /** Told how long each signal took and how it ended (the api's metrics). */
  observe: (kind: SignalKind, outcome: 'ok' | 'not_found' | 'error', seconds: number) => void = () => undefined,
  /** A run this signaller starts ends after this long quiet (CONVERSATION_QUIET_END_HOURS); 0: never. */
  quietEndMs = 0,
): ConversationSignaller {
  const timed = async <T>(kind: SignalKind, call: () => Promise<T>, outcome: (result: T) => 'ok' | 'not_found' = () => 'ok'): Promise<T> => {
    const started = performance.now();
    try {
      const result = await call();
      observe(kind, outcome(result), (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      observe(kind, 'error', (performance.now() - started) / 1000);
      throw err;
    }
  };
  async function signalWithStart(kind: SignalKind, ref: ConversationRef, send: (opts: { workflowId: string }) => Promise<unknown>) {
    const workflowId = conversationWorkflowId(ref.channelType, ref.channelId, ref.threadKey);
    try {
      await timed(kind, () => client.withDeadline(Date.now() + timeoutMs, () => send({ workflowId })));
    } catch (err) {
      throw new AppError(503, 'temporal_unavailable', 'the workflow service did not accept the message; retry later', undefined, err);
    }
  }
  /**
   * A run's start. `status`: what the ConversationStatus attribute starts as, when the signal says
   * (a customer's message opens it; a status change names it); undefined: a reply or a delivery
   * status starting a run again after a quiet end, whose run reads the status from PostgreSQL first.
   */
  const base = (ref: ConversationRef, workflowId: string, status?: ConversationStatus) => ({
    workflowId,
    taskQueue,
    typedSearchAttributes: [
      { key: ChannelTypeKey, value: ref.channelType },
      { key: ChannelIdKey, value: ref.channelId },
      { key: AccountIdKey, value: ref.accountId },
      { key: ConversationStatusKey, value: status ?? 'open' },
    ],
    args: [
      {
        accountId: ref.accountId,
        channelId: ref.channelId,
        channelType: ref.channelType,
        threadKey: ref.threadKey,
        ...(quietEndMs > 0 ? { quietEndMs } : {}),
        ...(status === undefined ? { snoozeCheckPending: true } : {}),
      },
    ] as [
      Parameters<typeof conversationWorkflow>[0],
    ],
  });
  return {
    // Bounded here, where every inbound message passes: see src/inbound/bound.ts.
    inbound: (ref, message) =>
      signalWithStart('inbound', boundRef(ref), ({ workflowId }) =>
        client.workflow.signalWithStart(conversationWorkflow, { ...base(boundRef(ref), workflowId, 'open'), signal: inboundSignal, signalArgs: [boundInbound(message)] }),
      ),
    reply: (ref, messageId) =>
      signalWithStart('reply', ref, ({ workflowId }) =>
        client.workflow.signalWithStart(conversationWorkflow, { ...base(ref, workflowId), signal: replySignal, signalArgs: [{ messageId }] }),
      ),
    retryReply: async (ref, messageId) => {
      const workflowId = conversationWorkflowId(ref.channelType, ref.channelId, ref.threadKey);
      try {
        // Longer than a signal's: the update waits for the database to say the reply is still failed.
        return await timed('reply', () =>
          client.withDeadline(Date.now() + Math.max(timeoutMs, RETRY_TIMEOUT_MS), () =>
            client.workflow.executeUpdateWithStart(retryReplyUpdate, {
              args: [{ messageId }],
              startWorkflowOperation: new WithStartWorkflowOperation(conversationWorkflow, { ...base(ref, workflowId), workflowIdConflictPolicy: 'USE_EXISTING' }),
            }),
          ),
        );
      } catch (err) {
        throw new AppError(503, 'temporal_unavailable', 'the workflow service did not answer in time; the reply may still have been queued: reload to see its status before retrying again', undefined, err);
      }
    },
    status: (ref, change) =>
      signalWithStart('status', ref, ({ workflowId }) =>
        client.workflow.signalWithStart(conversationWorkflow, {
          ...base(ref, workflowId, change.status),
          signal: conversationStatusSignal,
          signalArgs: [change],
        }),
      ),
    messageStatus: async (ref, update, known) => {
      const bounded = boundRef(ref);
      const workflowId = conversationWorkflowId(ref.channelType, ref.channelId, bounded.threadKey);
      const signal = async () => {
        try {
          await client.withDeadline(Date.now() + timeoutMs, () => client.workflow.getHandle(workflowId).signal(messageStatusSignal, update));
          return 'signalled' as const;
        } catch (err) {
          // An answer from Temporal, not a failure of it.
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
        if (!(await known?.(workflowId))) return 'no_conversation' as const;
        // Its run ended quiet: a new one stores the status.
        await client.withDeadline(Date.now() + timeoutMs, () =>
          client.workflow.signalWithStart(conversationWorkflow, { ...base(bounded, workflowId), signal: messageStatusSignal, signalArgs: [update] }),
        );
        return 'signalled' as const;
      };
      try {
        return await timed('message_status', signal, (r) => (r === 'signalled' ? 'ok' : 'not_found'));
      } catch (err) {
        throw new AppError(503, 'temporal_unavailable', 'the workflow service did not accept the status; retry later', undefined, err);
      }
    },
  };
}
