import { Client, Connection } from '@temporalio/client';

export interface TemporalClientOptions {
  address: string;
  namespace: string;
}

/**
 * A lazily connecting client: the API starts, and answers 503 on webhooks,
 * while Temporal is unreachable, and recovers by itself when it comes back.
 */
export function createTemporalClient({ address, namespace }: TemporalClientOptions): Client {
  const connection = Connection.lazy({ address });
  return new Client({ connection, namespace });
}
