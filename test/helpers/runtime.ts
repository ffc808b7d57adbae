import { DefaultLogger, LogLevel, Runtime } from '@temporalio/worker';

/**
 * Tests provoke failures on purpose (outages, rate limits); the SDK's warnings
 * about them would bury jest's output. TEST_TEMPORAL_LOG_LEVEL turns them back on.
 * Installed once per process, before any worker or native connection exists.
 */
export function quietTemporalRuntime(): void {
  const level = (process.env.TEST_TEMPORAL_LOG_LEVEL ?? 'ERROR') as LogLevel;
  try {
    Runtime.install({ logger: new DefaultLogger(level), telemetryOptions: { logging: { filter: { core: level, other: level } } } });
  } catch {
    // Already installed by an earlier test file in this process.
  }
}

const noop = () => undefined;
/** For bundleWorkflowCode: webpack's progress lines silenced, its warnings and errors kept. */
export const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop } as any;
