import type { Context } from 'koa';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CHANNEL_TYPES } from '../channels/types';
import { atMostOnceAMinute, processRegistry } from './process-metrics';

/**
 * What an operator watches on the api: every request by route and answer, with the process's
 * own CPU, memory, event-loop lag and GC; on the ingress, how many webhooks each platform sent
 * and how they were answered, how long the answer took, and how much of that was Temporal
 * accepting the signal (the rest is PingBack's own work: lookup, verification, parsing).
 * Platforms judge an endpoint by its answers; a 5xx here is a redelivery the platform will make.
 */
export interface ApiMetrics {
  registry: Registry;
  /** A finished request: by its route's template, and for /webhooks/<type>/… by the channel type in its path too. */
  request(ctx: Context, seconds: number): void;
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
/** Seconds, for every route (fewer buckets: many more series); long polls answer within a minute. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createApiMetrics(): ApiMetrics {
  const registry = processRegistry();
  const registers = [registry];
  const httpRequests = new Counter({
    name: 'pingback_http_requests_total',
    help: 'Requests answered, by method, route (the matched route\'s template; "dashboard" for its pages, "unmatched" for none) and HTTP status.',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const httpDuration = new Histogram({
    name: 'pingback_http_request_duration_seconds',
    help: 'Time from a request to its answer (a streamed answer: to its start), by method and route.',
    labelNames: ['method', 'route'],
    buckets: HTTP_BUCKETS,
    registers,
  });
  const requests = new Counter({
    name: 'pingback_webhook_requests_total',
    help: 'Webhook requests answered, by channel type, method and HTTP status.',
    labelNames: ['channel_type', 'method', 'status'],
    registers,
  });
  const duration = new Histogram({
    name: 'pingback_webhook_duration_seconds',
    help: 'Time from a webhook request to its answer, by channel type.',
    labelNames: ['channel_type'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const signals = new Histogram({
    name: 'pingback_temporal_signal_duration_seconds',
    help: 'Time Temporal took to accept a signal to a conversation workflow (or refuse it), by kind and outcome.',
    labelNames: ['kind', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const dropped = new Counter({
    name: 'pingback_mail_files_dropped_total',
    help: "Mail taken without its files, by why: a sender's or channel's daily limit, or the account's storage full.",
    labelNames: ['reason'],
    registers,
  });
  // Counted at a scrape (prom-client's collect), through the counts countStorage and countChannels are given.
  let countStorage = async () => {};
  let countChannels = async () => {};
  const storedBytes = new Gauge({
    name: 'pingback_stored_bytes',
    help: "Bytes of files PingBack keeps, by kind: mail (files that came with mail by webhook) and upload (web chat visitors' and agents' files).",
    labelNames: ['kind'],
    registers,
    collect: () => countStorage(),
  });
  const channelsGauge = new Gauge({
    name: 'pingback_channels',
    help: 'Active channels by type and status; reconnect_required ones have had their credentials refused by the platform and hold their replies.',
    labelNames: ['type', 'status'],
    registers,
    collect: () => countChannels(),
  });
  const storedFiles = new Gauge({
    name: 'pingback_stored_files',
    help: 'Files PingBack keeps, by kind (as pingback_stored_bytes).',
    labelNames: ['kind'],
    registers,
    collect: () => countStorage(),
  });
  return {
    registry,
    mailFilesDropped(reason) {
      dropped.inc({ reason: ['sender_daily_limit', 'channel_daily_limit', 'storage_quota_full'].includes(reason) ? reason : 'other' });
    },
    countChannels(count) {
      countChannels = atMostOnceAMinute(async () => {
        const counted = await count();
        // Only the channels that still exist: a type or status none has any more is gone, not stuck at its last count.
        channelsGauge.reset();
        for (const c of counted) channelsGauge.set({ type: c.type, status: c.status }, c.channels);
      });
    },
    countStorage(count) {
      // A sum over every kept file's row: fresh enough once a minute, however often Prometheus scrapes.
      countStorage = atMostOnceAMinute(async () => {
        for (const t of await count()) {
          storedBytes.set({ kind: t.kind }, t.bytes);
          storedFiles.set({ kind: t.kind }, t.files);
        }
      });
    },
    request(ctx, seconds) {
      const method = httpMethod(ctx.method);
      const route = routeOf(ctx);
      httpRequests.inc({ method, route, status: String(ctx.status) });
      httpDuration.observe({ method, route }, seconds);
      if (ctx.path.startsWith('/webhooks/')) {
        const channelType = webhookChannelType(ctx.path);
        requests.inc({ channel_type: channelType, method: webhookMethod(ctx.method), status: String(ctx.status) });
        duration.observe({ channel_type: channelType }, seconds);
      }
    },
    signal(kind, outcome, seconds) {
      signals.observe({ kind, outcome }, seconds);
    },
  };
}

/** What @koa/router leaves on a request's context: the layers its path matched, and the route that ran. */
interface RoutedContext {
  matched?: Array<{ path: unknown; methods: string[] }>;
  _matchedRoute?: unknown;
}

/**
 * The route a request went to, as its template (`/api/conversations/:id/messages`), never its
 * path (ids would make a series each). A route whose middleware refused the request (401) or
 * whose path takes other methods (405) is named all the same; a GET answered by no route was
 * the dashboard's (its pages and files); anything else is `unmatched`, so a scanner cannot mint
 * new series.
 */
export function routeOf(ctx: Context): string {
  const routed = ctx as unknown as RoutedContext;
  const routes = (routed.matched ?? []).filter((l): l is { path: string; methods: string[] } => l.methods.length > 0 && typeof l.path === 'string');
  const ran = routed._matchedRoute;
  if (typeof ran === 'string' && routes.some((l) => l.path === ran)) return ran;
  const route = routes.find((l) => l.methods.includes(ctx.method)) ?? routes[0];
  if (route) return route.path;
  return (ctx.method === 'GET' || ctx.method === 'HEAD') && ctx.status !== 404 ? 'dashboard' : 'unmatched';
}

/** The methods the API answers; anything else is `other`, so a scanner cannot mint new series. */
function httpMethod(method: string): string {
  return ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].includes(method) ? method : 'other';
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
