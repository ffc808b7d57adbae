import fs from 'node:fs';
import path from 'node:path';
import { context, diag, DiagLogLevel, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { envDetectorSync, hostDetectorSync, Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Config } from '../config';
import type { Logger } from '../log';

/** What the worker hands the Temporal SDK's OpenTelemetry sinks, so the workflows' spans go out with the process's own. */
export interface Tracing {
  readonly spanProcessor: SpanProcessor;
  readonly resource: Resource;
}

let active: { tracing: Tracing; provider: NodeTracerProvider; users: number } | undefined;

/**
 * Traces, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then a tracer provider for the whole
 * process (registered as OpenTelemetry's global one, with the W3C trace-context propagator and
 * an AsyncLocalStorage context manager), whose spans a batch span processor sends to the
 * collector over OTLP/HTTP, at `<endpoint>/v1/traces`. The exporter's and the batch processor's
 * own variables (OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_BSP_*) and the
 * sampler's (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG) apply as the SDK reads them.
 *
 * One provider per process: `pingback start` runs the api and the worker together, and the
 * second caller shares the first's (and its service name). Answers the function that stops
 * it, flushing what is still buffered; the provider goes once its last user has stopped.
 * Unset, nothing is created, and OpenTelemetry's API stays the no-op it is by default.
 */
export function startTracing(
  serviceName: string,
  config: Pick<Config, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME'>,
  log?: Logger,
): () => Promise<void> {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return async () => undefined;
  if (!active) {
    // The exporter's failures (a collector down) reach OpenTelemetry's diagnostics: the log's, at warn.
    if (log) {
      const warn = (msg: string, ...args: unknown[]) => log.warn(`traces: ${msg}`, args.length ? { detail: args.map(describe).join(' ') } : undefined);
      diag.setLogger({ error: warn, warn, info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.WARN);
    }
    // The SDK's own attributes, OTEL_RESOURCE_ATTRIBUTES, the host; the workflows' spans carry the same.
    const resource = Resource.default()
      .merge(envDetectorSync.detect())
      .merge(hostDetectorSync.detect())
      .merge(new Resource({ [ATTR_SERVICE_NAME]: config.OTEL_SERVICE_NAME ?? serviceName, [ATTR_SERVICE_VERSION]: version() }));
    const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }));
    const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
    provider.register();
    active = { tracing: { spanProcessor, resource }, provider, users: 0 };
  }
  const running = active;
  running.users++;
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    running.users--;
    try {
      if (running.users > 0) return await running.provider.forceFlush();
      if (active === running) active = undefined;
      await running.provider.shutdown();
    } catch (err) {
      log?.warn('traces: the last spans could not be sent', { error: String(err) });
    } finally {
      if (running.users === 0) {
        trace.disable();
        context.disable();
        propagation.disable();
        diag.disable();
      }
    }
  };
}

/** The running process's tracing, when startTracing has turned it on. */
export function currentTracing(): Tracing | undefined {
  return active?.tracing;
}

function describe(a: unknown): string {
  if (a instanceof Error) return a.message;
  if (typeof a === 'string') return a;
  try {
    return JSON.stringify(a);
  } catch {
    return String(a);
  }
}

function version(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
    if (path.dirname(dir) === dir) return 'unknown';
  }
}
