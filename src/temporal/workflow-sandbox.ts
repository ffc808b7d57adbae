import type { WorkerOptions } from '@temporalio/worker';

/*
 * Two costs the Temporal SDK's workflow sandbox charges on every workflow activation, and the
 * switches PingBack adds for them in patches/@temporalio+worker+*.patch (applied by `npm ci`,
 * postinstall). The SDK offers neither switch itself.
 *
 * - The deadlock detector: every call into the sandbox runs under node:vm's `timeout`, for which
 *   Node starts a watchdog thread and joins it afterwards (nodejs/node#47739), a few calls per
 *   activation. On a busy host each join also waits for the scheduler to run that thread.
 * - Stack traces for the stack trace query: a V8 promise hook captures and source-maps a stack
 *   for every promise a workflow creates.
 *
 * PingBack's workflows are its own, thin and tested, and their state query tells an operator what
 * a conversation waits for; README "Configuration" has the measurements.
 */

/**
 * Worker options for the sandbox's deadline: the SDK's own (`isolateExecutionTimeout`, not in its
 * public types) when `ms` > 0; with 0 the patched SDK calls node:vm without a timeout.
 */
export function sandboxDeadline(ms: number): Partial<WorkerOptions> {
  return { isolateExecutionTimeout: ms } as Partial<WorkerOptions>;
}

/**
 * Read by the patched SDK in each workflow thread as it starts, from the environment the thread
 * inherits: so set before the Workers are created, and the same for every Worker of a process.
 */
export function setWorkflowStackTraces(enabled: boolean): void {
  process.env.TEMPORAL_WORKFLOW_STACK_TRACES = enabled ? 'true' : 'false';
}
