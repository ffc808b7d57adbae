import http from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { listenOnAddress } from '../http/listen-address';

/**
 * A process's own registry (never prom-client's global one, so a test can build several apps in
 * one process), with prom-client's default metrics: CPU (`process_cpu_seconds_total`), memory
 * (`process_resident_memory_bytes`, `nodejs_heap_size_used_bytes`, …), event-loop lag
 * (`nodejs_eventloop_lag_seconds`, its p50/p90/p99), GC (`nodejs_gc_duration_seconds`), handles,
 * file descriptors and the Node.js version.
 */
export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * `count` at most once a minute however often Prometheus scrapes (a sum over many rows), for
 * gauges' `collect()`: every gauge it sets awaits the same count. One that fails leaves the last
 * values, and is tried again a minute later.
 */
export function atMostOnceAMinute(count: () => Promise<void>): () => Promise<void> {
  let countedAt = 0;
  let counting: Promise<void> | undefined;
  return () => {
    if (counting) return counting;
    if (Date.now() - countedAt < 60_000) return Promise.resolve();
    countedAt = Date.now();
    counting = count()
      .catch(() => undefined)
      .finally(() => (counting = undefined));
    return counting;
  };
}

/** Serves the registry at GET /metrics on `address` (host:port), apart from the public API. */
export async function serveMetrics(address: string, registry: Registry): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'metrics_unavailable', message: String(err) } }));
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'not_found', message: 'metrics are served at GET /metrics' } }));
  });
  const base = await listenOnAddress(server, address);
  return {
    url: `${base}/metrics`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
