/**
 * The workflows' half of traces: the interceptors of the bundle a worker runs with traces on
 * (src/temporal/build-bundle.ts), never in the plain one, so with traces off a workflow makes
 * no span at all.
 *
 * The Temporal SDK's OpenTelemetry interceptors make the spans: running the workflow, handling
 * each signal and update (children of the client's span, from the trace context in their
 * headers), scheduling each activity (whose headers carry the trace on to the activity's own
 * span on the worker). They send them out through the worker's `exporter` sink.
 *
 * One thing PingBack adds. A conversation's workflow queues the work a signal brings (an
 * inbound message to persist, a reply to send) and does it from its loops, which run in the
 * context of the workflow's first run span: without more, a reply's sendOutbound would join
 * the trace of the customer message that started the conversation, days ago. So the context
 * of the signal (or update) that queued a message is remembered, and the activity that
 * persists it, or sends, records or fails the reply, is scheduled in it: its trace is the
 * webhook's, or the agent's request's.
 *
 * And one thing PingBack changes: the context manager. The SDK's makes an AsyncLocalStorage per
 * workflow, whose cost grows with the square of the workflows cached (workflows/tracing-context.ts);
 * this one keeps every workflow's context in one shared storage.
 */
import { context, ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';
import { interceptors as openTelemetry } from '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors';
import type {
  ActivityInput,
  LocalActivityInput,
  Next,
  SignalInput,
  UpdateInput,
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { inboundSignal, replySignal, retryReplyUpdate } from './definitions';
import { traceContextStorage } from './tracing-context';

/** Replies whose trace is kept: far more than a conversation queues at once. */
const KEPT_REPLIES = 200;

export const interceptors = (): WorkflowInterceptors => {
  // Makes this workflow's tracer, and registers the SDK's context manager, replaced at once.
  const sdk = openTelemetry();
  context.disable();
  context.setGlobalContextManager(new SharedContextManager());
  const traces = new QueuedTraces();
  return {
    // Inside the SDK's: the active context there is the signal's span.
    inbound: [...(sdk.inbound ?? []), new RememberQueuedTrace(traces)],
    // Around the SDK's: the activity's span starts in the context set here.
    outbound: [new ScheduleInQueuedTrace(traces), ...(sdk.outbound ?? [])],
    internals: sdk.internals,
  };
};

/** The SDK's context manager (lib/workflow/context-manager.js), on the storage every workflow shares. */
class SharedContextManager implements ContextManager {
  private readonly storage = traceContextStorage();

  active(): Context {
    return (this.storage.getStore() as Context | undefined) ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const cb = thisArg == null ? fn : (fn.bind(thisArg) as F);
    return this.storage.run(ctx, cb, ...args);
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') throw new TypeError(`only functions can be bound to a context, not ${typeof target}`);
    const bound = (...args: unknown[]) => this.with(ctx, () => (target as (...a: unknown[]) => unknown)(...args));
    return bound as T;
  }

  enable(): this {
    return this;
  }

  /** Shared: one workflow leaving the cache (the SDK's interceptors disable theirs then) must not turn it off for the others. */
  disable(): this {
    return this;
  }
}

class QueuedTraces {
  /** An inbound message (the signal's argument, the same object persistInbound is given) → its signal's context. */
  private readonly messages = new WeakMap<object, Context>();
  /** A reply's message id → the context of the signal or update that queued it, oldest first. */
  private readonly replies = new Map<string, Context>();

  rememberInbound(message: unknown): void {
    if (typeof message === 'object' && message !== null) this.messages.set(message, context.active());
  }

  rememberReply(request: unknown): void {
    const id = (request as { messageId?: unknown } | undefined)?.messageId;
    if (typeof id !== 'string') return;
    this.replies.delete(id);
    this.replies.set(id, context.active());
    if (this.replies.size > KEPT_REPLIES) this.replies.delete(this.replies.keys().next().value!);
  }

  /** The context an activity with these arguments belongs in: a reply's, or the first traced message of a batch. */
  of(args: unknown[]): Context | undefined {
    const a = args[0] as { messageId?: unknown; messages?: unknown } | undefined;
    if (typeof a?.messageId === 'string') return this.replies.get(a.messageId);
    if (Array.isArray(a?.messages)) {
      for (const m of a.messages as unknown[]) {
        const found = typeof m === 'object' && m !== null ? this.messages.get(m) : undefined;
        if (found) return found;
      }
    }
    return undefined;
  }
}

class RememberQueuedTrace implements WorkflowInboundCallsInterceptor {
  constructor(private readonly traces: QueuedTraces) {}

  handleSignal(input: SignalInput, next: Next<WorkflowInboundCallsInterceptor, 'handleSignal'>): Promise<void> {
    if (input.signalName === inboundSignal.name) this.traces.rememberInbound(input.args[0]);
    else if (input.signalName === replySignal.name) this.traces.rememberReply(input.args[0]);
    return next(input);
  }

  handleUpdate(input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'handleUpdate'>): Promise<unknown> {
    if (input.name === retryReplyUpdate.name) this.traces.rememberReply(input.args[0]);
    return next(input);
  }
}

class ScheduleInQueuedTrace implements WorkflowOutboundCallsInterceptor {
  constructor(private readonly traces: QueuedTraces) {}

  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    const queued = this.traces.of(input.args);
    return queued ? context.with(queued, () => next(input)) : next(input);
  }

  scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>): Promise<unknown> {
    const queued = this.traces.of(input.args);
    return queued ? context.with(queued, () => next(input)) : next(input);
  }
}
