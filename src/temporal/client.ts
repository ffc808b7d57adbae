import { Client, Connection } from '@temporalio/client';
import type { SecretBox } from '../crypto/secret-box';
import { dataConverterFor } from './payload-codec';

export interface TemporalClientOptions {
  address: string;
  namespace: string;
  /** Payloads are encrypted with keys derived from these (see payload-codec.ts). */
  secrets: SecretBox;
}

/**
 * A lazily connecting client: the API starts, and answers 503 on webhooks,
 * while Temporal is unreachable, and recovers by itself when it comes back.
 */
export function createTemporalClient({ address, namespace, secrets }: TemporalClientOptions): Client {
  const connection = Connection.lazy({ address });
  return new Client({ connection, namespace, dataConverter: dataConverterFor(secrets) });
}
