import { AsyncLocalStorage } from 'node:async_hooks';
import type { Next, WorkflowClientInterceptor, WorkflowSignalInput, WorkflowSignalWithStartInput, WorkflowStartInput, WorkflowStartUpdateInput, WorkflowStartUpdateWithStartInput } from '@temporalio/client';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory, ActivityOutboundCallsInterceptor } from '@temporalio/worker';
import { requestIdFields, requestIdsFrom, requestIdsHeader } from './request-id-header';

/**
 * Which requests the code running now works for: an api request (its X-Request-Id), or an
 * activity (the ids in its header). Whatever it asks of Temporal carries them on.
 */
const current = new AsyncLocalStorage<readonly string[]>();

/** Runs `fn` as work for these requests, and for none other: an activity with none does not inherit its caller's. */
export const withRequestIds = <T>(ids: readonly string[], fn: () => T): T => current.run(ids, fn);
export const currentRequestIds = (): readonly string[] => current.getStore() ?? [];

/** Adds the ids of the request being served to what it starts, signals or updates. */
export class RequestIdClientInterceptor implements WorkflowClientInterceptor {
  start(input: WorkflowStartInput, next: Next<WorkflowClientInterceptor, 'start'>) {
    return next(withHeader(input));
  }

  signal(input: WorkflowSignalInput, next: Next<WorkflowClientInterceptor, 'signal'>) {
    return next(withHeader(input));
  }

  signalWithStart(input: WorkflowSignalWithStartInput, next: Next<WorkflowClientInterceptor, 'signalWithStart'>) {
    return next(withHeader(input));
  }

  startUpdate(input: WorkflowStartUpdateInput, next: Next<WorkflowClientInterceptor, 'startUpdate'>) {
    return next(withHeader(input));
  }

  startUpdateWithStart(input: WorkflowStartUpdateWithStartInput, next: Next<WorkflowClientInterceptor, 'startUpdateWithStart'>) {
    return next({ ...input, workflowStartHeaders: { ...input.workflowStartHeaders, ...header() }, updateHeaders: { ...input.updateHeaders, ...header() } });
  }
}

function header() {
  const ids = currentRequestIds();
  return ids.length > 0 ? requestIdsHeader(ids) : {};
}

function withHeader<I extends { headers: Record<string, unknown> }>(input: I): I {
  const ids = currentRequestIds();
  return ids.length > 0 ? { ...input, headers: { ...input.headers, ...requestIdsHeader(ids) } } : input;
}

/**
 * An activity's request ids, from the header the workflow gave it: on every line it logs (the
 * SDK's own "Activity completed" or "failed" too, not its "started", which comes before the
 * header is read), and on what it asks of Temporal.
 */
export const requestIdActivityInterceptors: ActivityInterceptorsFactory = () => {
  let ids: string[] = [];
  const inbound: ActivityInboundCallsInterceptor = {
    execute(input, next) {
      ids = requestIdsFrom(input.headers);
      return withRequestIds(ids, () => next(input));
    },
  };
  const outbound: ActivityOutboundCallsInterceptor = {
    getLogAttributes(attributes, next) {
      return next(ids.length > 0 ? { ...attributes, ...requestIdFields(ids) } : attributes);
    },
  };
  return { inbound, outbound };
};
