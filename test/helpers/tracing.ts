import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { writeWorkflowBundle } from '../../src/temporal/build-bundle';

/** A span as an OpenTelemetry collector received it, its attributes flattened. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  service: string;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
}

export interface OtlpReceiver {
  /** What OTEL_EXPORTER_OTLP_ENDPOINT is set to: spans are posted to `${url}/v1/traces`. */
  url: string;
  spans: ReceivedSpan[];
  /** Every path posted to, in order. */
  posts: string[];
  stop(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
type KeyValues = Array<{ key: string; value: AnyValue }>;

function flatten(attributes: KeyValues = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of attributes) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.doubleValue ?? value.boolValue;
  }
  return out;
}

/**
 * A stand-in OpenTelemetry collector: OTLP/HTTP with JSON bodies (what @opentelemetry/exporter-trace-otlp-http
 * sends), on a loopback port, answering every export with success and keeping its spans.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const posts: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push(req.url ?? '');
      try {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
        const parsed = JSON.parse(body.toString('utf8')) as {
          resourceSpans?: Array<{ resource?: { attributes?: KeyValues }; scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }> }>;
        };
        for (const rs of parsed.resourceSpans ?? []) {
          const service = String(flatten(rs.resource?.attributes)['service.name']);
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                traceId: s.traceId as string,
                spanId: s.spanId as string,
                parentSpanId: (s.parentSpanId as string | undefined) || undefined,
                name: s.name as string,
                kind: s.kind as number,
                service,
                attributes: flatten(s.attributes as KeyValues),
                status: (s.status as ReceivedSpan['status']) ?? {},
              });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    posts,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The workflow bundle a worker with traces on runs (the tracing interceptors in it), built once per suite that needs it. */
export async function tracedWorkflowBundle(): Promise<string> {
  const out = path.resolve(__dirname, '../../test-results/workflow-bundle-traced.js');
  await writeWorkflowBundle(out, { traced: true });
  return out;
}
