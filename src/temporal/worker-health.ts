import http from 'node:http';
import type { Client } from '@temporalio/client';
import type { Registry } from 'prom-client';
import type { Db } from '../db/knex';
import { checkPostgres, checkTemporal } from '../http/health';
import type { WorkerGroup } from './worker';
import { listenOnAddress } from '../http/listen-address';

/**
 * What the worker serves at WORKER_METRICS_ADDRESS:
 * - `/metrics`: the Temporal SDK core's own Prometheus page (task latencies, sticky cache, slots,
 *   PingBack's activity metrics), which core serves on a loopback port of its own; relayed here
 *   so probes and metrics share the one address an operator configures. Then `registry`'s: the
 *   Node.js process's own (CPU, memory, event-loop lag, GC; see process-metrics.ts), which core
 *   cannot see.
 * - `/livez`: the process answers.
 * - `/readyz`: every SDK worker is running and polling, and Temporal answers; PostgreSQL is
 *   reported (activities wait out an outage by retrying) but does not make the worker unready.
 *   An event loop stalled by a runaway task does not answer at all, which a probe's timeout
 *   counts as a failure.
 */
export async function serveWorkerHealth(
  address: string,
  deps: { workers: () => WorkerGroup | undefined; temporal: Client; db: Db; coreMetricsUrl: string; registry?: Registry },
): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = req.url?.split('?')[0];
    if (req.method !== 'GET') return send(405, { error: { code: 'method_not_allowed', message: 'GET only' } });
    if (path === '/livez') return send(200, { status: 'ok' });
    if (path === '/readyz') {
      void (async () => {
        const workers = deps.workers();
        const polling = workers?.polling() ?? { ok: false, error: 'the SDK workers are not created yet' };
        const [temporal, postgres] = await Promise.all([checkTemporal(deps.temporal), checkPostgres(deps.db)]);
        const ready = polling.ok && temporal.ok;
        send(ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready', checks: { workers: polling, temporal, postgres } });
      })().catch((err: unknown) => send(503, { status: 'not_ready', error: String(err) }));
      return;
    }
    if (path === '/metrics') {
      void fetch(deps.coreMetricsUrl, { signal: AbortSignal.timeout(5_000) })
        .then(async (r) => {
          const core = await r.text();
          // Both pages are in the text format, and their names apart (temporal_*, pingback_*; process_*, nodejs_*).
          const own = r.ok && deps.registry ? await deps.registry.metrics() : '';
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/plain; version=0.0.4' });
          res.end(own ? `${core}${core.endsWith('\n') || !core ? '' : '\n'}${own}` : core);
        })
        .catch((err: unknown) => send(503, { error: { code: 'metrics_unavailable', message: `the SDK's metrics did not answer: ${String(err)}` } }));
      return;
    }
    send(404, { error: { code: 'not_found', message: 'the worker serves GET /metrics, /livez and /readyz' } });
  });
  const base = await listenOnAddress(server, address);
  return {
    url: base,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
