import { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import { currentTracing } from '../telemetry/tracing';

/**
 * A worker's part of traces, when startTracing turned them on (OTEL_EXPORTER_OTLP_ENDPOINT); none
 * otherwise. Each activity attempt is a span of its own (`RunActivity:sendOutbound`), a child of the
 * workflow's `StartActivity` span from the trace context in the activity's headers, so the calls
 * it makes (a platform's, `platform.request`) are its children, and its log lines carry the trace id.
 * The workflows' spans (workflows/tracing.ts, in the traced bundle) come out of the sandbox through
 * the `exporter` sink, into the process's span processor, with its resource (service name).
 */
export function workerTracing(): Pick<WorkerOptions, 'interceptors' | 'sinks'> | undefined {
  const tracing = currentTracing();
  if (!tracing) return undefined;
  return {
    interceptors: {
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    },
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
