import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { temporalConnectionOptions } from '../../src/temporal/connection-options';

/** A secured cluster or Temporal Cloud, from the Temporal SDKs' environment variable names. */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-tls-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};
const cert = file('client.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const key = file('client.key', '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n');
const base = { DATABASE_URL: 'postgres://x@h/db', TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233' };

test('a local server: no TLS, no key', () => {
  expect(temporalConnectionOptions(loadConfig({ DATABASE_URL: 'postgres://x@h/db' }))).toEqual({ address: '127.0.0.1:7233' });
});

test('Temporal Cloud with an API key: TLS on by itself, the key passed on', () => {
  expect(temporalConnectionOptions(loadConfig({ ...base, TEMPORAL_API_KEY: 'k-123' }))).toEqual({ address: base.TEMPORAL_ADDRESS, tls: {}, apiKey: 'k-123' });
});

test('mTLS: the client certificate and key, a CA and a server name, read at start', () => {
  const opts = temporalConnectionOptions(
    loadConfig({ ...base, TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: key, TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca, TEMPORAL_TLS_SERVER_NAME: 'frontend.internal' }),
  );
  expect(opts.tls?.serverNameOverride).toBe('frontend.internal');
  expect(Buffer.from(opts.tls!.clientCertPair!.crt).toString()).toContain('BEGIN CERTIFICATE');
  expect(Buffer.from(opts.tls!.clientCertPair!.key).toString()).toContain('BEGIN PRIVATE KEY');
  expect(Buffer.from(opts.tls!.serverRootCACertificate!).toString()).toContain('MIIC');
  expect(temporalConnectionOptions(loadConfig({ ...base, TEMPORAL_TLS: 'true' })).tls).toEqual({});
});

test('refused at start, naming the variable: a missing or non-PEM file, a certificate without its key, TLS off with TLS settings', () => {
  expect(() => loadConfig({ ...base, TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'nope.pem'), TEMPORAL_TLS_CLIENT_KEY_PATH: key })).toThrow(/^TEMPORAL_TLS_CLIENT_CERT_PATH must be a readable PEM certificate/);
  expect(() => loadConfig({ ...base, TEMPORAL_TLS_CLIENT_CERT_PATH: key, TEMPORAL_TLS_CLIENT_KEY_PATH: key })).toThrow(/^TEMPORAL_TLS_CLIENT_CERT_PATH must be a readable PEM certificate/);
  expect(() => loadConfig({ ...base, TEMPORAL_TLS_CLIENT_CERT_PATH: cert })).toThrow(/TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together/);
  expect(() => loadConfig({ ...base, TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_NAME: 'x' })).toThrow(/TEMPORAL_TLS is false, but TLS settings are given/);
  expect(() => loadConfig({ ...base, TEMPORAL_TLS: 'yes' })).toThrow(/^TEMPORAL_TLS must be true or false/);
});
