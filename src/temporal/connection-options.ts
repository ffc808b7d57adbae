import fs from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from '../config';

export type TemporalConnectionSettings = Pick<
  Config,
  'TEMPORAL_ADDRESS' | 'TEMPORAL_API_KEY' | 'TEMPORAL_TLS' | 'TEMPORAL_TLS_CLIENT_CERT_PATH' | 'TEMPORAL_TLS_CLIENT_KEY_PATH' | 'TEMPORAL_TLS_SERVER_CA_CERT_PATH' | 'TEMPORAL_TLS_SERVER_NAME'
>;

/**
 * How the api (Connection) and the workers (NativeConnection) reach Temporal: a local server in
 * the clear, or a secured cluster / Temporal Cloud with TLS, an mTLS client certificate, an API
 * key, a server name, from the variables the Temporal SDKs' environment configuration uses
 * (validated by loadConfig). TLS is on when asked for, or when any of its settings or an API key
 * is given (Temporal Cloud takes API keys over TLS only).
 */
export function temporalConnectionOptions(c: TemporalConnectionSettings): { address: string; tls?: TLSConfig; apiKey?: string } {
  const anyTls = Boolean(c.TEMPORAL_TLS_CLIENT_CERT_PATH || c.TEMPORAL_TLS_SERVER_CA_CERT_PATH || c.TEMPORAL_TLS_SERVER_NAME || c.TEMPORAL_API_KEY);
  const tlsOn = c.TEMPORAL_TLS ?? anyTls;
  const tls: TLSConfig | undefined = tlsOn
    ? {
        ...(c.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: c.TEMPORAL_TLS_SERVER_NAME } : {}),
        ...(c.TEMPORAL_TLS_SERVER_CA_CERT_PATH ? { serverRootCACertificate: fs.readFileSync(c.TEMPORAL_TLS_SERVER_CA_CERT_PATH) } : {}),
        ...(c.TEMPORAL_TLS_CLIENT_CERT_PATH && c.TEMPORAL_TLS_CLIENT_KEY_PATH
          ? { clientCertPair: { crt: fs.readFileSync(c.TEMPORAL_TLS_CLIENT_CERT_PATH), key: fs.readFileSync(c.TEMPORAL_TLS_CLIENT_KEY_PATH) } }
          : {}),
      }
    : undefined;
  return { address: c.TEMPORAL_ADDRESS, ...(tls ? { tls } : {}), ...(c.TEMPORAL_API_KEY ? { apiKey: c.TEMPORAL_API_KEY } : {}) };
}
