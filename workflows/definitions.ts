import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ChannelType, ConversationRef, InboundMessage, MessageStatusUpdate } from '../src/channels/types';
import type { ConversationStatus } from '../src/inbox/schemas';

/** Signals and queries of the conversation workflow, shared by the workflow and its clients. */

export interface ConversationInput extends ConversationRef {
  /** Carried across continue-as-new. */
  conversationId?: string;
  pendingInbound?: InboundMessage[];
  pendingOutbound?: string[];
  pendingStatuses?: MessageStatusUpdate[];
  totals?: { received: number; sent: number; failed: number };
  /** last_message_at of the newest stored customer message: older resolves are stale. */
  lastInboundAt?: string;
  /** The previous run was waiting out a snooze, or had a status change to read: read the database first. */
  snoozeCheckPending?: boolean;
  /** Continue-as-new past this many history events (Temporal may suggest it earlier). */
  maxHistoryEvents?: number;
  /**
   * The run ends once it has had nothing to do for this long (CONVERSATION_QUIET_END_HOURS); the
   * next message, reply or status starts a new run by signal-with-start. Absent or 0: never.
   */
  quietEndMs?: number;
}

export interface ReplyRequest {
  messageId: string;
}

export interface SendAttemptReport {
  messageId: string;
  attempt: number;
  error: string;
  retryInMs?: number;
}

export interface PendingSend {
  messageId: string;
  state: 'queued' | 'sending';
  attempts: number;
  lastError: string | null;
}

export interface ConversationState {
  conversationId: string | null;
  channelId: string;
  channelType: ChannelType;
  threadKey: string;
  inboundWaiting: number;
  pendingSends: PendingSend[];
  totals: { received: number; sent: number; failed: number };
}

export const inboundSignal = defineSignal<[InboundMessage]>('inbound');
export const replySignal = defineSignal<[ReplyRequest]>('reply');
/** Sent by the send activity after a failed attempt, so the state query can show retries live. */
export const sendAttemptFailedSignal = defineSignal<[SendAttemptReport]>('sendAttemptFailed');
export const stateQuery = defineQuery<ConversationState>('state');

/**
 * What came of an agent's retry of a failed reply: queued again (its place in the conversation's
 * queue, 1 = next), or not, because it is no longer failed (sent meanwhile, or retried already).
 */
export type RetryReplyResult = { queued: true; position: number } | { queued: false; status: string };
/** An agent retries a failed reply: an update, so the answer says whether it was queued. */
export const retryReplyUpdate = defineUpdate<RetryReplyResult, [ReplyRequest]>('retryReply');
/**
 * An agent changed the conversation's status in the inbox (already written to the database): the
 * workflow reads it back for the ConversationStatus search attribute and a snooze's timer.
 */
export interface ConversationStatusChange {
  /** The new status: the search attribute a workflow started by this signal begins with. */
  status: ConversationStatus;
  /** Read only by runs from before the database decided (see STATUS_FROM_DATABASE). */
  asOf?: string;
}
export const conversationStatusSignal = defineSignal<[ConversationStatusChange]>('conversationStatus');
/** A platform's delivery report (sent, delivered, read, failed) for one of the conversation's outbound messages. */
export const messageStatusSignal = defineSignal<[MessageStatusUpdate]>('messageStatus');

/**
 * How a reply's failed send is retried (the sendOutbound activity's retry policy), in one place:
 * the workflow schedules by it, and the activity tells agents when the next try comes.
 */
export const SEND_RETRY = { initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 120_000 } as const;

/**
 * A reply not sent within this long of being written is failed rather than sent late: the
 * send activity's schedule-to-close, and, as a reply handed from one run to the next starts a
 * new activity, checked against the reply's own age by the activity too.
 */
export const REPLY_SEND_WINDOW_MS = 24 * 60 * 60 * 1000;

/** When Temporal tries again after the given failed attempt (1-based), unless the platform named its own delay. */
export function sendRetryDelayMs(attempt: number): number {
  return Math.min(SEND_RETRY.initialIntervalMs * SEND_RETRY.backoffCoefficient ** (attempt - 1), SEND_RETRY.maximumIntervalMs);
}
