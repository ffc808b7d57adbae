import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { SecretBox } from '../crypto/secret-box';
import type { temporalConnectionOptions } from './connection-options';
import { dataConverterFor } from './payload-codec';
import { RequestIdClientInterceptor } from './request-ids';

export interface TemporalClientOptions {
  /** Where and how to connect (connection-options.ts): the address, TLS, an API key. */
  connection: ReturnType<typeof temporalConnectionOptions>;
  namespace: string;
  /** Payloads are encrypted with keys derived from these (see payload-codec.ts). */
  secrets: SecretBox;
  /**
   * Traces on (OTEL_EXPORTER_OTLP_ENDPOINT): each workflow call (signal-with-start, signal, update)
   * is a span, and the trace goes on in the workflow's headers, to its tasks and activities.
   */
  tracing?: boolean;
}

/**
 * A lazily connecting client: the API starts, and answers 503 on webhooks,
 * while Temporal is unreachable, and recovers by itself when it comes back.
 */
export function createTemporalClient({ connection: options, namespace, secrets, tracing }: TemporalClientOptions): Client {
  const connection = Connection.lazy(options);
  // The request ids first: the trace's interceptor then sees (and spans) the call as it goes out.
  const workflow = [new RequestIdClientInterceptor(), ...(tracing ? [new OpenTelemetryWorkflowClientInterceptor()] : [])];
  // A query asks a running workflow only: answering for a run that ended (a conversation gone quiet)
  // would make a worker replay its whole history, for a state that holds nothing in flight.
  return new Client({ connection, namespace, dataConverter: dataConverterFor(secrets), interceptors: { workflow }, workflow: { queryRejectCondition: 'NOT_OPEN' } });
}
