/**
 * Request ids in the workflows (both bundles): the ids a signal or an update came with
 * (src/temporal/request-id-header.ts) are remembered with what it queued, an inbound message
 * or a reply, and given to the activity that later persists, sends or records it, so that
 * activity's log lines name the request that made the message. Lines the workflow writes while
 * a signal or update handler runs carry them too.
 *
 * Preloaded (workflow-bundle.ts): the module keeps nothing itself; each workflow's memory is
 * made by the factory below.
 */
import type {
  ActivityInput,
  GetLogAttributesInput,
  LocalActivityInput,
  Next,
  SignalInput,
  UpdateInput,
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { mergeRequestIds, requestIdFields, requestIdsFrom, requestIdsHeader } from '../src/temporal/request-id-header';

/**
 * Replies whose requests are kept: more than a conversation queues at once (an entry is not
 * removed when its reply is done, so this bounds what a busy cached conversation holds: ~5 KB).
 */
const KEPT_REPLIES = 32;

export const interceptors = (): WorkflowInterceptors => {
  const memory = new QueuedRequestIds();
  return { inbound: [new RememberRequestIds(memory)], outbound: [new PassRequestIds(memory)] };
};

class QueuedRequestIds {
  /** What a signal or update brought (an inbound message, a status: the very objects activities are given) → its request ids. */
  private readonly objects = new WeakMap<object, string[]>();
  /** A reply's message id → the ids of the request that queued it (or asked for its retry). */
  private readonly replies = new Map<string, string[]>();
  /** The ids of the signal or update whose handler is running, while it runs synchronously. */
  handling: string[] = [];

  remember(args: unknown[], ids: string[]): void {
    for (const arg of args) {
      if (typeof arg !== 'object' || arg === null) continue;
      this.objects.set(arg, ids);
      // A batch of statuses or messages in one signal: each is handed on by itself.
      for (const value of Object.values(arg)) if (Array.isArray(value)) for (const v of value) if (typeof v === 'object' && v !== null) this.objects.set(v, ids);
      const messageId = (arg as { messageId?: unknown }).messageId;
      if (typeof messageId === 'string') {
        // Added to, not replaced: a retry asked while the reply is still failing, or a signal
        // repeated, must not take the original request's lines away from it.
        const before = this.replies.get(messageId);
        this.replies.delete(messageId);
        this.replies.set(messageId, mergeRequestIds([before, ids]));
        if (this.replies.size > KEPT_REPLIES) this.replies.delete(this.replies.keys().next().value!);
      }
    }
  }

  /** The request ids of what an activity with these arguments works on: a reply's, or those of a batch's messages. */
  of(args: unknown[]): string[] {
    const a = args[0];
    if (typeof a !== 'object' || a === null) return [];
    const messageId = (a as { messageId?: unknown }).messageId;
    if (typeof messageId === 'string') return this.replies.get(messageId) ?? [];
    const lists: string[][] = [];
    for (const value of Object.values(a)) {
      if (!Array.isArray(value)) continue;
      for (const v of value) {
        const ids = typeof v === 'object' && v !== null ? this.objects.get(v) : undefined;
        if (ids) lists.push(ids);
      }
    }
    return mergeRequestIds(lists);
  }
}

class RememberRequestIds implements WorkflowInboundCallsInterceptor {
  constructor(private readonly memory: QueuedRequestIds) {}

  handleSignal(input: SignalInput, next: Next<WorkflowInboundCallsInterceptor, 'handleSignal'>): Promise<void> {
    return this.handling(input.args, requestIdsFrom(input.headers), () => next(input));
  }

  handleUpdate(input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'handleUpdate'>): Promise<unknown> {
    return this.handling(input.args, requestIdsFrom(input.headers), () => next(input));
  }

  /** Lines written until the handler's first await carry the ids (the handlers here write none after it). */
  private handling<T>(args: unknown[], ids: string[], run: () => T): T {
    if (ids.length === 0) return run();
    this.memory.remember(args, ids);
    const outer = this.memory.handling;
    this.memory.handling = ids;
    try {
      return run();
    } finally {
      this.memory.handling = outer;
    }
  }
}

class PassRequestIds implements WorkflowOutboundCallsInterceptor {
  constructor(private readonly memory: QueuedRequestIds) {}

  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    return next(this.withIds(input));
  }

  scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>): Promise<unknown> {
    return next(this.withIds(input));
  }

  getLogAttributes(input: GetLogAttributesInput, next: Next<WorkflowOutboundCallsInterceptor, 'getLogAttributes'>): Record<string, unknown> {
    return next(this.memory.handling.length > 0 ? { ...input, ...requestIdFields(this.memory.handling) } : input);
  }

  private withIds<I extends ActivityInput | LocalActivityInput>(input: I): I {
    const ids = this.memory.of(input.args);
    return ids.length > 0 ? { ...input, headers: { ...input.headers, ...requestIdsHeader(ids) } } : input;
  }
}
