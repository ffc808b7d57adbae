/**
 * One AsyncLocalStorage for the trace context of every workflow a worker caches (preloaded: see
 * tracingPreloadModules in src/temporal/workflow-bundle.ts, and workflows/tracing.ts, which uses it).
 *
 * Why one: Node (before its AsyncContextFrame) copies the store of every enabled
 * AsyncLocalStorage onto each promise any code creates, so a storage per cached workflow (as the
 * SDK's OpenTelemetry interceptors make for their context manager) makes every promise of every
 * workflow carry one property per cached workflow: measured, 4 KB a promise at 150 workflows,
 * ~1 MB of heap per workflow at 400, and a worker that ran out of memory at 2,000. Shared, each
 * workflow's promises still carry that workflow's own context: a store belongs to a promise, not to
 * the storage. Made here, at preload, where no workflow owns it (one made in a workflow would be
 * disabled when that workflow leaves the cache); kept out of the module's exports, which the SDK
 * freezes.
 */
import { AsyncLocalStorage } from '@temporalio/workflow';

const storage = new AsyncLocalStorage<unknown>();

export function traceContextStorage(): InstanceType<typeof AsyncLocalStorage<unknown>> {
  return storage;
}
