/**
 * What the worker bundles: PingBack's workflows, and the modules every conversation
 * workflow would otherwise load a copy of for itself.
 *
 * With the SDK's reusable V8 context, modules a workflow imports are instantiated
 * once per cached workflow unless preloaded. Preloaded here are modules without
 * per-workflow state: the workflow SDK's public API (it finds the running workflow
 * through the context, as the SDK's own internals already shared do), @temporalio/common,
 * and PingBack's signal/query definitions and search-attribute keys (constants, frozen
 * once shared). The workflow modules themselves stay per workflow. Measured with
 * 2,000 cached conversations: 151 → 121 KB of worker memory each (the SDK's own floor
 * is about 85), and less to collect for the garbage collector at 10,000 of them.
 */
export const workflowsPath = require.resolve('../../workflows');

/** Failures with their message and stack encrypted (failure-converter.ts), in workflows as in activities. */
export const failureConverterPath = require.resolve('./failure-converter');

export const preloadModules = [
  '@temporalio/workflow',
  '@temporalio/common',
  require.resolve('../../workflows/definitions'),
  require.resolve('./search-attributes'),
  require.resolve('../../workflows/request-ids'),
];

/**
 * The interceptors of both bundles: the ids of the requests behind a message, carried from the
 * signal that brought it to the activity that persists or sends it (workflows/request-ids.ts).
 */
export const requestIdInterceptorModules = [require.resolve('../../workflows/request-ids')];

/**
 * The interceptors of the bundle a worker runs with traces on (OTEL_EXPORTER_OTLP_ENDPOINT): the
 * Temporal SDK's OpenTelemetry ones, and PingBack's own (workflows/tracing.ts). Not preloaded:
 * they keep a tracer and its spans per workflow (and OpenTelemetry's API, which they register
 * with, must stay writable, which the SDK's shared modules are not).
 */
export const tracingInterceptorModules = [require.resolve('../../workflows/tracing')];

/** Preloaded besides, in the traced bundle: the one storage of every workflow's trace context (see the module). */
export const tracingPreloadModules = [require.resolve('../../workflows/tracing-context')];

/** What bundleWorkflowCode is given, for the plain bundle or the traced one. */
export function bundleOptions(opts: { traced: boolean }) {
  return opts.traced
    ? { workflowsPath, preloadModules: [...preloadModules, ...tracingPreloadModules], workflowInterceptorModules: [...requestIdInterceptorModules, ...tracingInterceptorModules], failureConverterPath }
    : { workflowsPath, preloadModules, workflowInterceptorModules: requestIdInterceptorModules, failureConverterPath };
}
