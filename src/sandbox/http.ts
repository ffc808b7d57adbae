import http from 'node:http';
import { isIP, type AddressInfo } from 'node:net';

/** Plumbing the platform fakes share: they are plain node:http servers, like the platforms' edges. */

const MAX_BODY = 10 << 20;

/** The request body as sent (capped at 10 MiB unless `max` says more, as a platform's edge would refuse more). */
export function readBodyBytes(req: http.IncomingMessage, max = MAX_BODY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) req.destroy(new Error('request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A fake's server, listening: where it is, and how to stop it. */
export interface FakeServer {
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts a fake's HTTP server on `host:port` (any free port by default). `handle` answers each
 * request; one that throws is answered 500 with `errorBody` (the platform's own error shape).
 */
export async function listenFake(
  opts: { host?: string; port?: number },
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<unknown>,
  errorBody: (message: string) => object,
): Promise<FakeServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, errorBody(err.message));
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(opts.port ?? 0, host, () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
