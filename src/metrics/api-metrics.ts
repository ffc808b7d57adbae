import http from 'node:http';
import { CHANNEL_TYPES } from '../channels/types';
import { Registry } from './registry';

/**
 * What an operator watches on the ingress: how many webhooks each platform sent and how they
 * were answered, how long the answer took, and how much of that was Temporal accepting the
 * signal (the rest is PingBack's own work: lookup, verification, parsing). Platforms judge an
 * endpoint by its answers; a 5xx here is a redelivery the platform will make.
 */
export interface ApiMetrics {
  registry: Registry;
  /** A finished request to /webhooks/<type>/…, by the channel type in its path. */
  webhook(method: string, path: string, status: number, seconds: number): void;
  /** One signal(-with-start) to a conversation workflow, `ok` once Temporal accepted it. */
  signal(kind: SignalKind, outcome: 'ok' | 'not_found' | 'error', seconds: number): void;
  /** A mail taken without its files, and why (a daily limit, the account's storage full). */
  mailFilesDropped(reason: string): void;
  /** Counts what PingBack keeps (by kind: files from mail, uploads) when scraped, at most once a minute. */
  countStorage(count: () => Promise<Array<{ kind: string; files: number; bytes: number }>>): void;
  /** Counts active channels by type and status (reconnect_required: an alert) when scraped, at most once a minute. */
  countChannels(count: () => Promise<Array<{ type: string; status: string; channels: number }>>): void;
}

export type SignalKind = 'inbound' | 'reply' | 'status' | 'message_status';

/**
 * Seconds: a webhook is answered in milliseconds normally, in seconds when Temporal is struggling.
 * Close together up to two seconds, where a loaded host's p99s fall, so a p99 read from them
 * (histogram_quantile interpolates within a bucket) is within a few per cent.
 */
const LATENCY_BUCKETS = [
  0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1, 1.5, 2, 3, 5, 10,
];

export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  const requests = registry.counter('pingback_webhook_requests_total', 'Webhook requests answered, by channel type, method and HTTP status.');
  const duration = registry.histogram('pingback_webhook_duration_seconds', 'Time from a webhook request to its answer, by channel type.', LATENCY_BUCKETS);
  const signals = registry.histogram(
    'pingback_temporal_signal_duration_seconds',
    'Time Temporal took to accept a signal to a conversation workflow (or refuse it), by kind and outcome.',
    LATENCY_BUCKETS,
  );
  const dropped = registry.counter('pingback_mail_files_dropped_total', "Mail taken without its files, by why: a sender's or channel's daily limit, or the account's storage full.");
  const storedBytes = registry.gauge('pingback_stored_bytes', 'Bytes of files PingBack keeps, by kind: mail (files that came with mail by webhook) and upload (web chat visitors\' and agents\' files).');
  const channelsGauge = registry.gauge('pingback_channels', 'Active channels by type and status; reconnect_required ones have had their credentials refused by the platform and hold their replies.');
  const storedFiles = registry.gauge('pingback_stored_files', 'Files PingBack keeps, by kind (as pingback_stored_bytes).');
  return {
    registry,
    mailFilesDropped(reason) {
      dropped.inc({ reason: ['sender_daily_limit', 'channel_daily_limit', 'storage_quota_full'].includes(reason) ? reason : 'other' });
    },
    countChannels(count) {
      let countedAt = 0;
      registry.onScrape(async () => {
        if (Date.now() - countedAt < 60_000) return;
        countedAt = Date.now();
        channelsGauge.reset();
        for (const c of await count()) channelsGauge.set({ type: c.type, status: c.status }, c.channels);
      });
    },
    countStorage(count) {
      let countedAt = 0;
      // A sum over every kept file's row: fresh enough once a minute, however often Prometheus scrapes.
      registry.onScrape(async () => {
        if (Date.now() - countedAt < 60_000) return;
        countedAt = Date.now();
        for (const t of await count()) {
          storedBytes.set({ kind: t.kind }, t.bytes);
          storedFiles.set({ kind: t.kind }, t.files);
        }
      });
    },
    webhook(method, path, status, seconds) {
      const channelType = webhookChannelType(path);
      requests.inc({ channel_type: channelType, method: webhookMethod(method), status: String(status) });
      duration.observe({ channel_type: channelType }, seconds);
    },
    signal(kind, outcome, seconds) {
      signals.observe({ kind, outcome }, seconds);
    },
  };
}

/**
 * GET is a platform's handshake (Meta's verification, X's CRC check; HEAD is answered by the same
 * route), POST delivers events; anything else is `other`, so a scanner cannot mint new series.
 */
function webhookMethod(method: string): 'GET' | 'POST' | 'other' {
  if (method === 'GET' || method === 'HEAD') return 'GET';
  return method === 'POST' ? 'POST' : 'other';
}

/** The channel type a webhook path names; anything else is `unknown`, so a scanner cannot mint new series. */
function webhookChannelType(path: string): string {
  const type = path.split('/')[2] ?? '';
  return (CHANNEL_TYPES as readonly string[]).includes(type) ? type : 'unknown';
}

/** Serves the registry at GET /metrics on `address` (host:port), apart from the public API. */
export async function serveMetrics(address: string, registry: Registry): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      void registry.scrape().then((text) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(text);
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'not_found', message: 'metrics are served at GET /metrics' } }));
  });
  const split = address.lastIndexOf(':');
  const host = address.slice(0, split).replace(/^\[(.*)\]$/, '$1');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(address.slice(split + 1)), host, resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
