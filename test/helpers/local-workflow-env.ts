/**
 * The set-up the workflow suites share: a local Temporal dev server (the CLI the global
 * set-up found or built) with PingBack's search attributes, started once per suite, and
 * a polling wait for what recording activities have seen.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalCli } from '../../src/dev/temporal-cli';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/temporal/search-attributes';
import { quietTemporalRuntime } from './runtime';

/** Registers beforeAll/afterAll; the returned function gives the suite's environment. */
export function localWorkflowEnvironment(): () => TestWorkflowEnvironment {
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    // Activity failures are the point of several tests: keep the worker's warnings out of the output.
    quietTemporalRuntime();
    const cli = process.env.TEMPORAL_CLI_PATH ?? findTemporalCli();
    if (!cli) throw new Error('no Temporal CLI: set TEMPORAL_CLI_PATH');
    env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: cli }, searchAttributes: SEARCH_ATTRIBUTE_KEYS },
    });
  });
  afterAll(async () => {
    await env?.teardown();
  });
  return () => {
    if (!env) throw new Error('the local workflow environment is not started (used outside a test?)');
    return env;
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(25);
  }
}
