import { context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { configSchema } from '../../src/config';
import { currentTracing, startTracing } from '../../src/telemetry/tracing';
import { workerTracing } from '../../src/temporal/worker-tracing';
import { startOtlpReceiver } from '../helpers/tracing';

// The real exporter, its constructions counted.
jest.mock('@opentelemetry/exporter-trace-otlp-http', () => {
  const actual = jest.requireActual('@opentelemetry/exporter-trace-otlp-http');
  return { ...actual, OTLPTraceExporter: jest.fn((...args: unknown[]) => new actual.OTLPTraceExporter(...args)) };
});
const exporters = OTLPTraceExporter as unknown as jest.Mock;
beforeEach(() => exporters.mockClear());

const base = { DATABASE_URL: 'postgres://x@127.0.0.1/x' };

test('without OTEL_EXPORTER_OTLP_ENDPOINT: no exporter, no provider, spans record nothing, the worker takes no interceptors', async () => {
  const stop = startTracing('pingback-api', configSchema.parse(base));
  expect(exporters).not.toHaveBeenCalled();
  expect(currentTracing()).toBeUndefined();
  expect(workerTracing()).toBeUndefined();
  expect(trace.getTracer('t').startSpan('s').isRecording()).toBe(false);
  await stop();
});

test('the endpoint is validated as an http(s) URL', () => {
  expect(configSchema.safeParse({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }).success).toBe(false);
  expect(configSchema.safeParse({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector:4318' }).success).toBe(false);
  expect(configSchema.parse({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://collector:4318');
});

test('with it: spans go to <endpoint>/v1/traces under the service name; one provider for the api and worker of one process; flushed at stop', async () => {
  const receiver = await startOtlpReceiver();
  try {
    const config = configSchema.parse({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/` });
    const stopApi = startTracing('pingback-api', config);
    const stopWorker = startTracing('pingback-worker', config);
    expect(exporters).toHaveBeenCalledTimes(1);
    expect(exporters).toHaveBeenCalledWith({ url: `${receiver.url}/v1/traces` });
    expect(workerTracing()).toMatchObject({ sinks: { exporter: expect.anything() }, interceptors: { activity: [expect.any(Function)] } });

    const tracer = trace.getTracer('t');
    tracer.startActiveSpan('outer', (outer) => {
      // The context manager is registered: a span started inside is the active one's child.
      tracer.startSpan('inner', undefined, context.active()).end();
      outer.end();
    });
    await stopWorker(); // flushes, and leaves the api's tracing on
    expect(currentTracing()).toBeDefined();
    expect(receiver.spans.map((s) => s.name).sort()).toEqual(['inner', 'outer']);
    const [outer, inner] = ['outer', 'inner'].map((n) => receiver.spans.find((s) => s.name === n)!);
    expect(inner.parentSpanId).toBe(outer.spanId);
    expect(inner.traceId).toBe(outer.traceId);
    expect(outer.service).toBe('pingback-api');
    expect(receiver.posts).toEqual(['/v1/traces']);

    tracer.startSpan('last').end();
    await stopApi();
    expect(receiver.spans.map((s) => s.name)).toContain('last');
    // Off again: the global provider is gone.
    expect(currentTracing()).toBeUndefined();
    expect(trace.getTracer('t').startSpan('after').isRecording()).toBe(false);
  } finally {
    await receiver.stop();
  }
});

test('OTEL_SERVICE_NAME names the service instead', async () => {
  const receiver = await startOtlpReceiver();
  try {
    const stop = startTracing('pingback-worker', configSchema.parse({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'support-worker' }));
    trace.getTracer('t').startSpan('named').end();
    await stop();
    expect(receiver.spans).toEqual([expect.objectContaining({ name: 'named', service: 'support-worker' })]);
  } finally {
    await receiver.stop();
  }
});

test('a collector that is down: stopping logs a warning, never throws', async () => {
  const receiver = await startOtlpReceiver();
  await receiver.stop(); // nothing listens there now
  const warnings: string[] = [];
  const log = { debug: () => undefined, info: () => undefined, warn: (m: string) => void warnings.push(m), error: () => undefined, child: () => log };
  const stop = startTracing('pingback-api', configSchema.parse({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }), log);
  trace.getTracer('t').startSpan('lost').end();
  await expect(stop()).resolves.toBeUndefined();
  expect(warnings.some((w) => w.startsWith('traces:'))).toBe(true);
});
