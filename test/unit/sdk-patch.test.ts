/**
 * The worker's start-up check for the Temporal SDK patch in patches/: an install that skipped
 * it must stop with one line saying why, not fail every workflow task.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config';
import { requireSdkPatch, workflowSandbox } from '../../src/temporal/workflow-sandbox';

const ROOT = path.resolve(__dirname, '../..');
const installed = path.join(ROOT, 'node_modules/@temporalio/worker');
const [patchFile] = fs.readdirSync(path.join(ROOT, 'patches')).filter((f) => f.startsWith('@temporalio+worker+'));

/** A copy of the installed SDK's sandbox module with the patch taken back out, as an unpatched install has it. */
function unpatchedCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pingback-sdk-'));
  const lib = path.join(dir, 'node_modules/@temporalio/worker/lib/workflow');
  fs.mkdirSync(lib, { recursive: true });
  fs.copyFileSync(path.join(installed, 'lib/workflow/reusable-vm.js'), path.join(lib, 'reusable-vm.js'));
  execFileSync('git', ['apply', '-R', '--include=*/reusable-vm.js', path.join(ROOT, 'patches', patchFile)], { cwd: dir });
  return path.join(dir, 'node_modules/@temporalio/worker');
}

test('the installed SDK carries the patch, so the defaults start', () => {
  expect(() => requireSdkPatch()).not.toThrow();
  expect(() => requireSdkPatch(installed)).not.toThrow();
  expect(workflowSandbox({ WORKER_DEADLOCK_TIMEOUT_MS: 0, WORKER_WORKFLOW_STACK_TRACES: false })).toEqual({ isolateExecutionTimeout: 0 });
});

test('an SDK without the patch is refused with one line naming the fix', () => {
  const sdk = unpatchedCopy();
  try {
    expect(() => requireSdkPatch(sdk)).toThrow(ConfigError);
    expect(() => requireSdkPatch(sdk)).toThrow(/patch in patches\/ is not applied \(run `npm ci`/);
  } finally {
    fs.rmSync(path.dirname(path.dirname(path.dirname(sdk))), { recursive: true, force: true });
  }
});
