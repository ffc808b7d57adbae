import type http from 'node:http';

/**
 * Starts `server` on a `host:port` setting (WORKER_METRICS_ADDRESS, API_METRICS_ADDRESS; `[v6]:port`
 * too) and answers its base URL, with the port it got (0 asks for a free one).
 */
export async function listenOnAddress(server: http.Server, address: string): Promise<string> {
  const split = address.lastIndexOf(':');
  const host = address.slice(0, split).replace(/^\[(.*)\]$/, '$1');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(address.slice(split + 1)), host, resolve);
  });
  const { port } = server.address() as { port: number };
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
