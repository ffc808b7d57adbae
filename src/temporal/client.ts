import { Client, Connection } from '@temporalio/client';
import type { SecretBox } from '../crypto/secret-box';
import type { temporalConnectionOptions } from './connection-options';
import { dataConverterFor } from './payload-codec';

export interface TemporalClientOptions {
  /** Where and how to connect (connection-options.ts): the address, TLS, an API key. */
  connection: ReturnType<typeof temporalConnectionOptions>;
  namespace: string;
  /** Payloads are encrypted with keys derived from these (see payload-codec.ts). */
  secrets: SecretBox;
}

/**
 * A lazily connecting client: the API starts, and answers 503 on webhooks,
 * while Temporal is unreachable, and recovers by itself when it comes back.
 */
export function createTemporalClient({ connection: options, namespace, secrets }: TemporalClientOptions): Client {
  const connection = Connection.lazy(options);
  return new Client({ connection, namespace, dataConverter: dataConverterFor(secrets) });
}
