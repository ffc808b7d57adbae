import fs from 'node:fs';
import path from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';
import { type Config, configSchema, ConfigError, setVariables } from '../config';

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
 * a conversation waits for; README "The workflow sandbox" has the measurements and the trade-off.
 */

export type SandboxSettings = Pick<Config, 'WORKER_DEADLOCK_TIMEOUT_MS' | 'WORKER_WORKFLOW_STACK_TRACES'>;

const PATCH_MARKER = 'patched (PingBack)';

/**
 * Worker options for these settings. Call it for each Worker, just before creating it: the
 * stack trace switch travels in the environment, which the patched SDK reads as it creates the
 * Worker and passes on to the workflow threads it starts. The deadline is the SDK's own option
 * (`isolateExecutionTimeout`, not in its public types); with 0 the patched SDK calls node:vm
 * without a timeout.
 */
export function workflowSandbox(settings: SandboxSettings): Partial<WorkerOptions> {
  if (settings.WORKER_DEADLOCK_TIMEOUT_MS === 0 || !settings.WORKER_WORKFLOW_STACK_TRACES) requireSdkPatch();
  process.env.TEMPORAL_WORKFLOW_STACK_TRACES = settings.WORKER_WORKFLOW_STACK_TRACES ? 'true' : 'false';
  return { isolateExecutionTimeout: settings.WORKER_DEADLOCK_TIMEOUT_MS } as Partial<WorkerOptions>;
}

/** The settings from WORKER_* variables, for harnesses that build their own Workers (empty means unset, as in loadConfig). */
export function sandboxSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): SandboxSettings {
  return configSchema.pick({ WORKER_DEADLOCK_TIMEOUT_MS: true, WORKER_WORKFLOW_STACK_TRACES: true }).parse(setVariables(env));
}

const patchedSdks = new Set<string>();

/**
 * Without the patch (an install that skipped postinstall scripts, another package manager, a
 * copied node_modules) the SDK would hand node:vm a timeout of 0, which Node refuses on every
 * call into the sandbox: every workflow task would fail. Stop at start instead, saying why.
 */
export function requireSdkPatch(workerPackageDir = path.dirname(require.resolve('@temporalio/worker/package.json'))): void {
  if (patchedSdks.has(workerPackageDir)) return;
  const file = path.join(workerPackageDir, 'lib/workflow/reusable-vm.js');
  if (!fs.readFileSync(file, 'utf8').includes(PATCH_MARKER)) {
    throw new ConfigError(
      'the Temporal SDK patch in patches/ is not applied (run `npm ci`, which applies it); or set WORKER_DEADLOCK_TIMEOUT_MS=5000 and WORKER_WORKFLOW_STACK_TRACES=true to run the SDK as shipped',
    );
  }
  patchedSdks.add(workerPackageDir);
}
